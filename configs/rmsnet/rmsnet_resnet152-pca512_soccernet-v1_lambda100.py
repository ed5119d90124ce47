# Fig. 4.6: regression weight lambda = 100 (main model: 10).
_base_ = './rmsnet_resnet152-pca512_soccernet-v1.py'
model = dict(regression_weight=100.0)
