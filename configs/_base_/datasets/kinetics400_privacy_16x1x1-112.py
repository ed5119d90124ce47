# Kinetics-400 videos (mmaction2 video lists) for R(2+1)D-18 / R3D-18 (thesis Sec. 5.3.1):
# 16 consecutive frames, resized to 128 x 171, random 112 x 112 crop; 3 clips per video per epoch
# (RepeatDataset x3); test: 10 uniformly sampled clips, centre crop 112, probabilities averaged.
# Anonymised copies mirror the originals (tools/anonymize.py): videos_<split>_faces /
# videos_<split>_body next to videos_<split>.
dataset_type = 'VideoDataset'
data_root = 'data/kinetics400'
ann_file_train = 'kinetics400_train_list_videos.txt'
ann_file_val = 'kinetics400_val_list_videos.txt'
ann_file_test = 'kinetics400_val_list_videos.txt'
clip_len, frame_interval = 16, 1
resize_scale, crop_size = (171, 128), 112   # (w, h)
flip_ratio = 0.5

train_pipeline = [
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=clip_len, frame_interval=frame_interval, num_clips=1),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=resize_scale, keep_ratio=False),
    dict(type='RandomCrop', size=crop_size),
    dict(type='Flip', flip_ratio=flip_ratio),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
# The same geometry for the original x* and the anonymised x of a sample (Sec. 5.2): both are
# decoded at the same frame indices and stacked, so Resize / RandomCrop / Flip draw once.
paired_train_pipeline = [
    dict(type='LoadPairedVideo'),
    dict(type='SampleFrames', clip_len=clip_len, frame_interval=frame_interval, num_clips=1),
    dict(type='PairedDecode'),
    dict(type='Resize', scale=resize_scale, keep_ratio=False),
    dict(type='RandomCrop', size=crop_size),
    dict(type='Flip', flip_ratio=flip_ratio),
    dict(type='PackPairedInputs', input_format='NCTHW'),
]
val_pipeline = [
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=clip_len, frame_interval=frame_interval, num_clips=1,
         test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=resize_scale, keep_ratio=False),
    dict(type='CenterCrop', crop_size=crop_size),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
test_pipeline = [
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=clip_len, frame_interval=frame_interval, num_clips=10,
         test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=resize_scale, keep_ratio=False),
    dict(type='CenterCrop', crop_size=crop_size),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]

train_dataloader = dict(
    batch_size=24,   # x 64 GPUs = 1536 (Sec. 5.3.1)
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type='RepeatDataset',
        times=3,   # three clips of every training video per epoch
        dataset=dict(type=dataset_type, data_root=data_root, ann_file=ann_file_train,
                     data_prefix=dict(video='videos_train'), pipeline=train_pipeline)))
val_dataloader = dict(
    batch_size=24,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, ann_file=ann_file_val,
                 data_prefix=dict(video='videos_val'), pipeline=val_pipeline, test_mode=True))
test_dataloader = dict(
    batch_size=1,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, ann_file=ann_file_test,
                 data_prefix=dict(video='videos_val'), pipeline=test_pipeline, test_mode=True))
val_evaluator = dict(type='AccMetric')
test_evaluator = val_evaluator
