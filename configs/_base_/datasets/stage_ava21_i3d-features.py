# AVA v2.1 with the features released by the STAGE authors (aimagelab/STAGE_action_detection):
# I3D actors (1024-d, one h5 per keyframe:
# data/ava/features/stage_i3d/actors_{train,val}/<video_id>/<timestamp>.h5) and Faster R-CNN
# Visual Genome objects (2048-d, data/ava/features/stage_i3d/objects_{train,val}.h5).
# The release already holds ground-truth + detected boxes with labels assigned at IoU >= 0.5
# (Sec. 3.2.2), so the test score threshold (0.7) applies only to the project format.
# Batches are blocks of 6 consecutive keyframes (Sec. 3.2.2); batch_size must equal block_size.
dataset_type = 'AVAFeatureDataset'
data_root = 'data/ava'
anno_root = 'data/ava/annotations'
ann_file_train = f'{anno_root}/ava_train_v2.1.csv'
ann_file_val = f'{anno_root}/ava_val_v2.1.csv'
exclude_file_train = f'{anno_root}/ava_train_excluded_timestamps_v2.1.csv'
exclude_file_val = f'{anno_root}/ava_val_excluded_timestamps_v2.1.csv'
label_file = f'{anno_root}/ava_action_list_v2.1_for_activitynet_2018.pbtxt'
block_size = 6

common = dict(type=dataset_type, label_file=label_file,
              feature_format='stage-i3d', actor_dim=1024, object_dim=2048,
              pipeline=[dict(type='PackSTAGEInputs')])
train_dataloader = dict(
    batch_size=block_size,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='KeyframeBlockSampler', block_size=block_size, shuffle=True),
    dataset=dict(ann_file=ann_file_train, exclude_file=exclude_file_train,
                 actor_file=f'{data_root}/features/stage_i3d/actors_train',
                 object_file=f'{data_root}/features/stage_i3d/objects_train.h5', **common))
val_dataloader = dict(
    batch_size=block_size,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='KeyframeBlockTestSampler', block_size=block_size),
    dataset=dict(ann_file=ann_file_val, exclude_file=exclude_file_val,
                 actor_file=f'{data_root}/features/stage_i3d/actors_val',
                 object_file=f'{data_root}/features/stage_i3d/objects_val.h5',
                 test_mode=True, **common))
test_dataloader = val_dataloader

# Frame-mAP@0.5 on the 60 evaluated classes + per-group mAP (Table 3.4); csv of the official format.
val_evaluator = dict(type='STAGEAVAMetric', ann_file=ann_file_val, exclude_file=exclude_file_val,
                     label_file=label_file)
test_evaluator = val_evaluator
