# CPU demo of the Table 4.3 ablation "w/o offset regression branch".
_base_ = './rmsnet_resnet152-pca512_soccernet-v1_cpu-demo.py'
model = dict(use_regression=False)
