# CPU demo, plain CycleGAN baseline (demo/art2real_demo.py): the Art2Real CPU demo config without
# the contextual loss, the masks and the mask-update hook (same data, networks, schedule, seed).
_base_ = ['./art2real_resnet-in_1xb1-cpu-demo_generated-landscapes.py']

model = dict(contextual_loss=None)
train_pipeline = [
    dict(type='LoadImageFromFile', key='img_A', color_type='color'),
    dict(type='LoadImageFromFile', key='img_B', color_type='color'),
    dict(type='Flip', keys=['img_A'], direction='horizontal'),
    dict(type='Flip', keys=['img_B'], direction='horizontal'),
    dict(type='KeyMapper',
         mapping={'img_painting': 'img_A', 'img_photo': 'img_B'},
         remapping={'img_painting': 'img_painting', 'img_photo': 'img_photo'}),
    dict(type='PackInputs', keys=['img_painting', 'img_photo']),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
custom_hooks = []
