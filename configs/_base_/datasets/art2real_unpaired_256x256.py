# Unpaired paintings (trainA / testA) and photos (trainB / testB) at 256x256 (thesis App. A.1.2),
# as mmagic's unpaired_imgs_256x256, without masks: the plain CycleGAN baseline of Table A.1.
dataset_type = 'UnpairedImageDataset'
data_root = 'data/art2real/monet2photo'   # set by each config

train_pipeline = [
    dict(type='LoadImageFromFile', key='img_A', color_type='color'),
    dict(type='LoadImageFromFile', key='img_B', color_type='color'),
    dict(type='Resize', keys=['img_A', 'img_B'], scale=(286, 286), interpolation='bicubic'),
    # One random crop position for the painting and its mask (mmagic's Crop draws a position
    # per key, so a TransformBroadcaster would not share it); the photo is cropped on its own.
    dict(type='FixedCrop', keys=['img_A'], crop_size=(256, 256)),
    dict(type='Crop', keys=['img_B'], crop_size=(256, 256), random_crop=True),
    dict(type='Flip', keys=['img_A'], direction='horizontal'),
    dict(type='Flip', keys=['img_B'], direction='horizontal'),
    dict(type='KeyMapper',
         mapping={'img_painting': 'img_A', 'img_photo': 'img_B'},
         remapping={'img_painting': 'img_painting', 'img_photo': 'img_photo'}),
    dict(type='PackInputs', keys=['img_painting', 'img_photo']),
]

test_pipeline = [
    dict(type='LoadImageFromFile', key='img_A', color_type='color'),
    dict(type='LoadImageFromFile', key='img_B', color_type='color'),
    dict(type='TransformBroadcaster', mapping={'img': ['img_A', 'img_B']}, auto_remap=True,
         share_random_params=True,
         transforms=dict(type='Resize', scale=(256, 256), interpolation='bicubic')),
    dict(type='KeyMapper',
         mapping={'img_painting': 'img_A', 'img_photo': 'img_B'},
         remapping={'img_painting': 'img_painting', 'img_photo': 'img_photo'}),
    # FID reads the real photos from the data samples
    dict(type='PackInputs', keys=['img_painting', 'img_photo'], data_keys=['img_photo']),
]

train_dataloader = dict(
    batch_size=1,   # thesis
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, pipeline=train_pipeline))

val_dataloader = dict(
    batch_size=4,
    num_workers=4,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, test_mode=True,
                 pipeline=test_pipeline))
test_dataloader = val_dataloader

# FID against the real photos (early stopping monitors it). mmagic's TransFID downloads the
# StyleGAN Inception when inception_path is missing or None: give a local TorchScript file
# (called as net(uint8 NCHW, return_features=True)) to run offline; see configs/art2real/README.
inception_path = 'data/art2real/inception-2015-12-05.pt'
val_evaluator = dict(
    type='Evaluator',
    metrics=[
        dict(type='TransFID', prefix='FID-painting2photo', fake_nums=-1,
             inception_style='StyleGAN', inception_path=inception_path,
             real_key='img_photo', fake_key='fake_photo', sample_model='orig'),
    ])
test_evaluator = val_evaluator
