# CPU demo of Art2Real (demo/art2real_demo.py): generated 64x64 paintings / photos
# (vidplugins.demo_data.art2real_images), a small ResNet generator (16 channels, 3 blocks),
# 6 epochs; masks recomputed on G(x) from epoch 4, every 2 epochs, by a colour-prototype
# segmenter (the demo's classes are colour-coded in the photo domain). The demo sets data_root,
# the bank folder and the TorchScript feature network of the FID.
_base_ = ['./art2real_resnet-in_1xb1-300e_monet2photo.py']

data_root = 'data/art2real_demo/data'
model = dict(
    generator=dict(base_channels=16, num_blocks=3),
    discriminator=dict(base_channels=16),
    contextual_loss=dict(banks='data/art2real_demo/banks'))

train_pipeline = [
    dict(type='LoadImageFromFile', key='img_A', color_type='color'),
    dict(type='LoadImageFromFile', key='img_B', color_type='color'),
    dict(type='LoadClassMask', key='mask_A', img_key='img_A', mask_folder='masksA'),
    dict(type='Flip', keys=['img_A', 'mask_A'], direction='horizontal'),
    dict(type='Flip', keys=['img_B'], direction='horizontal'),
    dict(type='KeyMapper',
         mapping={'img_painting': 'img_A', 'img_photo': 'img_B', 'mask_painting': 'mask_A'},
         remapping={'img_painting': 'img_painting', 'img_photo': 'img_photo',
                    'mask_painting': 'mask_painting'}),
    dict(type='PackInputs', keys=['img_painting', 'img_photo'], data_keys=['mask_painting']),
]
test_pipeline = [
    dict(type='LoadImageFromFile', key='img_A', color_type='color'),
    dict(type='LoadImageFromFile', key='img_B', color_type='color'),
    dict(type='KeyMapper',
         mapping={'img_painting': 'img_A', 'img_photo': 'img_B'},
         remapping={'img_painting': 'img_painting', 'img_photo': 'img_photo'}),
    # FID reads the real photos from the data samples
    dict(type='PackInputs', keys=['img_painting', 'img_photo'], data_keys=['img_photo']),
]
train_dataloader = dict(num_workers=0, dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(num_workers=0,
                      dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(metrics=[
    dict(type='TransFID', prefix='FID-painting2photo', fake_nums=32, inception_style='StyleGAN',
         inception_path='data/art2real_demo/random_features.pt', real_key='img_photo',
         fake_key='fake_photo', sample_model='orig'),
])
test_evaluator = val_evaluator

train_cfg = dict(max_epochs=6, val_interval=6)
param_scheduler = [
    dict(type='LinearLR', start_factor=1.0, end_factor=0.0, by_epoch=True, begin=3, end=6)
]
custom_hooks = [
    dict(type='Art2RealMaskUpdateHook', start_epoch=4, interval=2,
         segmenter=dict(type='prototype', blur=5, prototypes={
             0: (120, 120, 125), 1: (110, 160, 225), 2: (50, 110, 40), 3: (140, 100, 60)})),
]
default_hooks = dict(checkpoint=dict(interval=6, save_best=None))
