# Table 4.6: ResNet-18 end to end (512-d frame features).
_base_ = './rmsnet_resnet152-e2e-frames_soccernet-v1.py'
model = dict(
    backbone=dict(
        depth=18,
        init_cfg=dict(checkpoint='https://download.openmmlab.com/mmclassification/v0/resnet/'
                      'resnet18_8xb32_in1k_20210831-fbbb1da6.pth')),
    head=dict(in_channels=512))
