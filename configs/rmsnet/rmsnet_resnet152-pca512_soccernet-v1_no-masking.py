# Table 4.3 "w/o masking".
_base_ = './rmsnet_resnet152-pca512_soccernet-v1.py'
train_dataloader = dict(dataset=dict(pipeline=[dict(type='PackSpottingInputs')]))
