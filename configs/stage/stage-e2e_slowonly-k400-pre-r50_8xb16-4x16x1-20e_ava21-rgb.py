# STAGE trained end to end with the backbone (the thesis's future work, Ch. 7): mmaction2's
# SlowOnly-R50 AVA v2.1 detector (FastRCNN, 4x16x1 clips, 20 epochs) with STAGERoIHead between the
# RoI features and BBoxHeadAVA. Actors (proposals / GT) and objects (boxes of
# tools/data/ava/extract_object_features.py) are RoI-aligned on the same backbone feature map and
# averaged over t, h, w (2048-d); STAGE adds box geometry (2052-d nodes), 2 heads x 2 layers (the
# R101 / SlowFast setting of Sec. 3.3), temporal radius 1 s. Training batches are blocks of 16
# consecutive keyframes (KeyframeBlockSampler), so that clips of the same video 1 s apart are
# linked; test batches are blocks of up to 16 consecutive keyframes of one video (one frame size,
# KeyframeBlockTestSampler + KeyframeBlockBatchSampler), so the links are used at test time too.
_base_ = 'mmaction::detection/slowonly/slowonly_kinetics400-pretrained-r50_8xb16-4x16x1-20e_ava21-rgb.py'
custom_imports = dict(imports=['vidplugins.stage'], allow_failed_imports=False)

model = dict(
    roi_head=dict(
        type='STAGERoIHead',
        in_channels=2048,
        object_source='metainfo',
        max_objects=25,                      # ~25 objects per AVA clip on average (Table 3.10)
        stage=dict(num_heads=2, num_layers=2, temporal_radius=1, negative_slope=0.2,
                   dropout=0.5),
        bbox_head=dict(in_channels=2048 + 4)))

object_file_train = 'data/ava/features/objects_train.h5'
object_file_val = 'data/ava/features/objects_val.h5'
meta_keys = ('img_shape', 'img_key', 'video_id', 'timestamp', 'crop_quadruple', 'flip',
             'object_bboxes')
file_client_args = dict(io_backend='disk')
train_pipeline = [
    dict(type='SampleAVAFrames', clip_len=4, frame_interval=16),
    dict(type='RawFrameDecode', **file_client_args),
    dict(type='RandomRescale', scale_range=(256, 320)),
    dict(type='RandomCrop', size=256),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='FormatShape', input_format='NCTHW', collapse=True),
    dict(type='LoadAVAObjectBoxes', object_file=object_file_train, min_score=0.2, max_objects=25,
         on_missing='empty'),
    dict(type='PackActionInputs', meta_keys=meta_keys)
]
val_pipeline = [
    dict(type='SampleAVAFrames', clip_len=4, frame_interval=16, test_mode=True),
    dict(type='RawFrameDecode', **file_client_args),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='FormatShape', input_format='NCTHW', collapse=True),
    dict(type='LoadAVAObjectBoxes', object_file=object_file_val, min_score=0.2, max_objects=25,
         on_missing='empty'),
    dict(type='PackActionInputs', meta_keys=meta_keys)
]
train_dataloader = dict(
    sampler=dict(_delete_=True, type='KeyframeBlockSampler', block_size=16, shuffle=True),
    dataset=dict(pipeline=train_pipeline))
# Test batches: blocks of at most 16 consecutive keyframes of one video (one block per batch), so
# STAGE links each keyframe to its neighbours at test time too; every keyframe is predicted once,
# also in distributed testing (no padding); AVAMetric is unchanged.
val_dataloader = dict(
    batch_size=16,
    sampler=dict(_delete_=True, type='KeyframeBlockTestSampler', block_size=16, per_video=True),
    batch_sampler=dict(type='KeyframeBlockBatchSampler'),
    dataset=dict(pipeline=val_pipeline))
test_dataloader = val_dataloader
