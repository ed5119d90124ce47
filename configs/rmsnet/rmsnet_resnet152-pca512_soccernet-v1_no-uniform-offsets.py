# Table 4.3 "w/o uniformly distributed offsets": only windows centred on the event, no regression.
# Each epoch draws as many windows as the main model (n_F = 30,000 foreground, n_B = 10,000
# background: "we still balance training batches"), from the ~41x smaller pool of centred windows.
_base_ = './rmsnet_resnet152-pca512_soccernet-v1_no-regression.py'
train_dataloader = dict(dataset=dict(event_offsets='center'))
