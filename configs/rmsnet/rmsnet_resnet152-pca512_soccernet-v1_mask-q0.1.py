# Table 4.4: masking before the event, p = 1/3, q = 0.1.
_base_ = './rmsnet_resnet152-pca512_soccernet-v1.py'
train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='MaskEventContext', p=1 / 3, q=0.1, side='before'),
    dict(type='PackSpottingInputs')]))
