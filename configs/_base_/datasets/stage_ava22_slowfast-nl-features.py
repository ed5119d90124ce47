# AVA v2.2 with the SlowFast-NL actor features released by the STAGE authors (2304-d, one h5 per
# split, groups "<clip_number>_<timestamp>"; data/ava/features/stage_slowfast/ava2.2_{train,val}.h5)
# and the Visual Genome object features of the authors' I3D release. Clip numbers are mapped to
# video ids through the sorted video ids of the split's csv (override with video_list='file.txt').
# The release's boxes already carry labels (score >= 0.9, IoU >= 0.9, Sec. 3.2.2).
dataset_type = 'AVAFeatureDataset'
data_root = 'data/ava'
anno_root = 'data/ava/annotations'
ann_file_train = f'{anno_root}/ava_train_v2.2.csv'
ann_file_val = f'{anno_root}/ava_val_v2.2.csv'
exclude_file_train = f'{anno_root}/ava_train_excluded_timestamps_v2.2.csv'
exclude_file_val = f'{anno_root}/ava_val_excluded_timestamps_v2.2.csv'
label_file = f'{anno_root}/ava_action_list_v2.2_for_activitynet_2019.pbtxt'
block_size = 6

common = dict(type=dataset_type, label_file=label_file,
              feature_format='stage-slowfast', actor_dim=2304, object_dim=2048,
              pipeline=[dict(type='PackSTAGEInputs')])
train_dataloader = dict(
    batch_size=block_size,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='KeyframeBlockSampler', block_size=block_size, shuffle=True),
    dataset=dict(ann_file=ann_file_train, exclude_file=exclude_file_train,
                 actor_file=f'{data_root}/features/stage_slowfast/ava2.2_train.h5',
                 object_file=f'{data_root}/features/stage_i3d/objects_train.h5', **common))
val_dataloader = dict(
    batch_size=block_size,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='KeyframeBlockTestSampler', block_size=block_size),
    dataset=dict(ann_file=ann_file_val, exclude_file=exclude_file_val,
                 actor_file=f'{data_root}/features/stage_slowfast/ava2.2_val.h5',
                 object_file=f'{data_root}/features/stage_i3d/objects_val.h5',
                 test_mode=True, **common))
test_dataloader = val_dataloader

val_evaluator = dict(type='STAGEAVAMetric', ann_file=ann_file_val, exclude_file=exclude_file_val,
                     label_file=label_file)
test_evaluator = val_evaluator
