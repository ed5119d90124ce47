# R3D-18 of Tran et al. (thesis Sec. 5.3.1, Table 5.3): 3x3x3 convolutions throughout, stem
# 3x7x7 with stride (1, 2, 2) and no max-pool; 33.4M parameters with the 400-way classifier.
# mmaction2's ResNet3d builds it as is once both pools are switched off.
custom_imports = dict(imports=['vidplugins.privacy'], allow_failed_imports=False)
model = dict(
    type='Recognizer3D',
    backbone=dict(
        type='ResNet3d',
        depth=18,
        pretrained=None,
        pretrained2d=False,
        norm_cfg=dict(type='BN3d', requires_grad=True),
        conv1_kernel=(3, 7, 7),
        conv1_stride_t=1,
        pool1_stride_t=1,
        with_pool1=False,
        with_pool2=False,
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
        dropout_ratio=0.5,
        init_std=0.01,
        average_clips='prob'),
    data_preprocessor=dict(
        type='ActionDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        format_shape='NCTHW'))
