# R(2+1)D-18 of Tran et al. (thesis Sec. 5.3.1): 16 x 112 x 112 clips, no stem max-pool, stem
# 3 -> 45 (1x7x7) -> 64 (3x1x1); 31.5M parameters, 40.8 GFLOPs per view (Table 6.1). mmaction2's
# own ResNet2Plus1d keeps a max-pool (11.9 GFLOPs): see vidplugins/backbones/r2plus1d.py.
custom_imports = dict(imports=['vidplugins.privacy'], allow_failed_imports=False)
model = dict(
    type='Recognizer3D',
    backbone=dict(
        type='ResNet2Plus1dTran',
        depth=18,
        pretrained=None,
        pretrained2d=False,
        conv_cfg=dict(type='Conv2plus1d'),
        norm_cfg=dict(type='BN3d', requires_grad=True),
        conv1_kernel=(3, 7, 7),
        conv1_stride_t=1,
        pool1_stride_t=1,
        stem_mid_channels=45,
        with_pool1=False,
        inflate=(1, 1, 1, 1),
        spatial_strides=(1, 2, 2, 2),
        temporal_strides=(1, 2, 2, 2),
        zero_init_residual=False,
        norm_eval=False),
    cls_head=dict(
        type='I3DHead',
        num_classes=400,
        in_channels=512,
        spatial_type='avg',
        dropout_ratio=0.5,  # mmaction2's R(2+1)D recipe; the thesis does not state one
        init_std=0.01,
        average_clips='prob'),  # 10-clip testing averages the clips' probabilities
    data_preprocessor=dict(
        type='ActionDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        format_shape='NCTHW'))
