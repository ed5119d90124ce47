# Table 4.3 "w/o uniformly distributed offsets": only windows centred on the event, no regression.
_base_ = './rmsnet_resnet152-pca512_soccernet-v1_no-regression.py'
train_dataloader = dict(dataset=dict(event_offsets='center'), sampler=dict(num_foreground=None))
