# The generated privacy demo set (python -m vidplugins.demo_data.privacy_videos data/privacy_demo):
# Kinetics-style video lists, 16-frame 32 x 32 mp4 clips read as 8-frame 28 x 28 crops, originals under videos/ and the
# face-obfuscated mirror under videos_faces/. No flip: the demo's body cue is a drift direction,
# which a mirror would turn into another class's. Only demo_* names (see the models file).
demo_data_root = 'data/privacy_demo'
demo_train_pipeline = [
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=8, frame_interval=1, num_clips=1),
    dict(type='DecordDecode'),
    dict(type='RandomCrop', size=28),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
demo_paired_train_pipeline = [
    dict(type='LoadPairedVideo'),
    dict(type='SampleFrames', clip_len=8, frame_interval=1, num_clips=1),
    dict(type='PairedDecode'),
    dict(type='RandomCrop', size=28),
    dict(type='PackPairedInputs', input_format='NCTHW'),
]
demo_test_pipeline = [
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=8, frame_interval=1, num_clips=1, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='CenterCrop', crop_size=28),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
