# Table 4.3 "w/o offset regression branch": same sampling, no regression loss, every spot at the
# window centre.
_base_ = './rmsnet_resnet152-pca512_soccernet-v1.py'
model = dict(use_regression=False)
