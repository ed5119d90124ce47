# Table 4.5 (control): masking after the event, p = 1 / 2, q = 0.5.
_base_ = './rmsnet_resnet152-pca512_soccernet-v1.py'
train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='MaskEventContext', p=1 / 2, q=0.5, side='after'),
    dict(type='PackSpottingInputs')]))
