# Art2Real (thesis App. A.1): mmagic's CycleGAN (Johnson-style ResNet generators, 70x70
# PatchGAN discriminators, LSGAN, N(0, 0.02) init) + lambda * L_CXMS on painting -> photo.
custom_imports = dict(imports=['vidplugins.art2real'], allow_failed_imports=False)

model = dict(
    type='Art2RealCycleGAN',
    # images to [-1, 1]; masks stay in the samples untouched; the real photos are also read from
    # the samples by mmagic's FID (its real_key), hence data_keys
    data_preprocessor=dict(type='DataPreprocessor', data_keys=['img_photo']),
    generator=dict(
        type='ResnetGenerator', in_channels=3, out_channels=3, base_channels=64,
        norm_cfg=dict(type='IN'), use_dropout=False, num_blocks=9, padding_mode='reflect',
        init_cfg=dict(type='normal', gain=0.02)),
    discriminator=dict(
        type='PatchDiscriminator', in_channels=3, base_channels=64, num_conv=3,
        norm_cfg=dict(type='IN'), init_cfg=dict(type='normal', gain=0.02)),
    # The original CycleGAN's weights: cycle 10, identity 0.5 x 10 = 5 (mmagic's default is 0.5).
    loss_config=dict(cycle_loss_weight=10., id_loss_weight=5.),
    contextual_loss=dict(
        type='MultiScaleContextualLoss',
        banks='data/art2real/banks/landscapes',   # tools/art2real/build_banks.py output
        scales='4:4,8:5,16:6', k=5, neighbour_set='knn', assign_threshold=0.5,
        bandwidth=1.0, loss_weight=0.1),
    painting_domain='painting', photo_domain='photo',
    default_domain='photo', reachable_domains=['painting', 'photo'],
    related_domains=['painting', 'photo'])
