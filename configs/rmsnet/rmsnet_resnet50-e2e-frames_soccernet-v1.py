# Table 4.6: ResNet-50 end to end (see the ResNet-152 config).
_base_ = './rmsnet_resnet152-e2e-frames_soccernet-v1.py'
model = dict(backbone=dict(
    depth=50,
    init_cfg=dict(checkpoint='https://download.openmmlab.com/mmclassification/v0/resnet/'
                  'resnet50_8xb32_in1k_20210831-ea4938fc.pth')))
