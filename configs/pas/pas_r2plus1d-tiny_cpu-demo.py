# The base network B of the PAS proof on CPU (demo/pas_demo.py and its test): a tiny Tran
# R(2+1)D (widths 8-64, two blocks per stage so eps_l applies) on the generated clips of
# vidplugins/demo_data/pas_videos.py (4 classes, 32 x 32 px, 16 frames; 8 consecutive frames per
# clip). Resizes use area interpolation (antialiased, as PASDistiller's in-model resize), so
# eps_s blurs the 2-px class texture instead of aliasing it. No flips: they would swap diagonals.
_base_ = [
    '../_base_/models/r2plus1d-18-tran_pas.py',
    '../_base_/default_runtime.py',
]
data_root = 'data/pas_demo'
model = dict(
    backbone=dict(base_channels=8, stem_mid_channels=8),
    cls_head=dict(in_channels=64, num_classes=4, dropout_ratio=0.0))
train_pipeline = [
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=8, frame_interval=1, num_clips=1),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 32), interpolation='area'),
    dict(type='CenterCrop', crop_size=32),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
test_pipeline = [
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=8, frame_interval=1, num_clips=1, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 32), interpolation='area'),
    dict(type='CenterCrop', crop_size=32),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
train_dataloader = dict(
    batch_size=8, num_workers=0, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='VideoDataset', data_root=data_root, ann_file='train_list.txt',
                 data_prefix=dict(video='videos/train'), pipeline=train_pipeline))
test_dataloader = dict(
    batch_size=8, num_workers=0, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='VideoDataset', data_root=data_root, ann_file='test_list.txt',
                 data_prefix=dict(video='videos/test'), pipeline=test_pipeline,
                 test_mode=True))
test_evaluator = dict(type='AccMetric')
test_cfg = dict(type='TestLoop')
val_dataloader = val_evaluator = val_cfg = None
# AdamW: the tiny network learns the 2-px orientation in a few CPU epochs (SGD at lr 0.05 / 0.1
# stayed near chance after 6 epochs); the demo trains B for 8 epochs, the hypotheses for 3.
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=8, val_interval=100)
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=1e-3, weight_decay=1e-4),
                     clip_grad=dict(max_norm=40, norm_type=2))
param_scheduler = []
default_hooks = dict(checkpoint=dict(interval=1, save_best=None, max_keep_ckpts=2),
                     logger=dict(interval=4))
randomness = dict(seed=0, deterministic=False)
flops_input_shape = (1, 3, 8, 32, 32)
