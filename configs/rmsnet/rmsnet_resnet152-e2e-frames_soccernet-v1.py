# Table 4.6: ImageNet ResNet-152 per frame + RMS-Net, trained end to end on 224 x 398 frames at
# 2 fps; only the last residual stage and the head are trained, BN frozen (Sec. 4.2.5). Batch 24,
# lr 0.025.
_base_ = [
    '../_base_/models/rmsnet.py',
    '../_base_/datasets/soccernet-v1_frames-224x398.py',
    '../_base_/schedules/sgd_warmup-cosine_50e.py',
    '../_base_/default_runtime.py',
]
depth = 152
model = dict(
    backbone=dict(
        type='mmpretrain.ResNet', depth=depth, frozen_stages=3, norm_eval=True,
        init_cfg=dict(type='Pretrained', prefix='backbone.',
                      checkpoint='https://download.openmmlab.com/mmclassification/v0/resnet/'
                      'resnet152_8xb32_in1k_20210901-4d7582fa.pth')),
    head=dict(in_channels=2048),
    max_windows_per_forward=8,
    # Validation / test / demo encode a half (~5,400 frames) 128 frames per backbone call.
    encode_chunk_frames=128,
    data_preprocessor=dict(type='SpottingDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375]))
optim_wrapper = dict(optimizer=dict(lr=0.025))
default_hooks = dict(checkpoint=dict(save_best='spotting/a_mAP_loose', rule='greater'))
flops_input_shape = (41, 3, 224, 398)
