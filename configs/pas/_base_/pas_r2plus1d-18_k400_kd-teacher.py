# PAS knowledge distillation from B = pas_r2plus1d-18_k400_base (Eq. 6.7):
# the teacher part of every KD config (their second _base_)
pas_teacher = dict(type='Recognizer3D',
                   backbone=dict(type='ResNet2Plus1dTran', depth=18, pretrained=None,
                                 pretrained2d=False, conv_cfg=dict(type='Conv2plus1d'),
                                 norm_cfg=dict(type='BN3d', requires_grad=True),
                                 conv1_kernel=(3, 7, 7), conv1_stride_t=1, pool1_stride_t=1,
                                 base_channels=64, stem_mid_channels=45, with_pool1=False,
                                 inflate=(1, 1, 1, 1), spatial_strides=(1, 2, 2, 2),
                                 temporal_strides=(1, 2, 2, 2), zero_init_residual=False,
                                 norm_eval=False),
                   cls_head=dict(type='I3DHead', num_classes=400, in_channels=512,
                                 spatial_type='avg', dropout_ratio=0.5, init_std=0.01,
                                 average_clips='prob'),
                   data_preprocessor=dict(type='ActionDataPreprocessor',
                                          mean=[123.675, 116.28, 103.53],
                                          std=[58.395, 57.12, 57.375], format_shape='NCTHW'))
pas_teacher_ckpt = 'checkpoints/pas_r2plus1d-18_k400_base.pth'
pas_teacher_train_pipeline = [dict(type='DecordInit'),
                              dict(type='SampleFrames', clip_len=16, frame_interval=1, num_clips=1),
                              dict(type='DecordDecode'),
                              dict(type='Resize', scale=(171, 128), keep_ratio=False),
                              dict(type='RandomCrop', size=112),
                              dict(type='Flip', flip_ratio=0.5),
                              dict(type='FormatShape', input_format='NCTHW'),
                              dict(type='PackActionInputs')]
pas_distill_loss = dict(type='KLDivergenceKDLoss', loss_weight=12500.0, temperature=5.0)
