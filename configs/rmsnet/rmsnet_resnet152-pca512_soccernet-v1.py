# RMS-Net, main model of Table 4.2: T = 41, lambda = 10, masking p = 1/3, q = 0.5, SGD lr 0.05,
# batch 64, 50 epochs with early stopping, on SoccerNet-v1 ResNet-152 PCA-512 features.
_base_ = [
    '../_base_/models/rmsnet.py',
    '../_base_/datasets/soccernet-v1_resnet152-pca512.py',
    '../_base_/schedules/sgd_warmup-cosine_50e.py',
    '../_base_/default_runtime.py',
]
default_hooks = dict(checkpoint=dict(save_best='spotting/a_mAP_loose', rule='greater'))
