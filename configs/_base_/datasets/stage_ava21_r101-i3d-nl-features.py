# AVA v2.1 with R101-I3D-NL actor features (2048-d, LFB authors' weights) and Visual Genome Faster
# R-CNN object features (2048-d), in the project format written by
# tools/data/ava/extract_{actor,object}_features.py (data/ava/features/r101-i3d-nl/*.h5).
# Label assignment (Sec. 3.2.2): train on ground truth + detections of score >= 0.9 labelled at
# IoU >= 0.9; test on detections of score >= 0.8 (the authors' code used 0.85 for these features).
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
              feature_format='vidplugins', actor_dim=2048, object_dim=2048,
              pipeline=[dict(type='PackSTAGEInputs')])
train_dataloader = dict(
    batch_size=block_size,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='KeyframeBlockSampler', block_size=block_size, shuffle=True),
    dataset=dict(ann_file=ann_file_train, exclude_file=exclude_file_train,
                 actor_file=f'{data_root}/features/r101-i3d-nl/ava21_train_actors.h5',
                 object_file=f'{data_root}/features/vg-faster-rcnn/ava21_train_objects.h5',
                 assigner=dict(det_score_thr=0.9, pos_iou_thr=0.9), **common))
val_dataloader = dict(
    batch_size=block_size,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='KeyframeBlockTestSampler', block_size=block_size),
    dataset=dict(ann_file=ann_file_val, exclude_file=exclude_file_val,
                 actor_file=f'{data_root}/features/r101-i3d-nl/ava21_val_actors.h5',
                 object_file=f'{data_root}/features/vg-faster-rcnn/ava21_val_objects.h5',
                 assigner=dict(det_score_thr=0.8), test_mode=True, **common))
test_dataloader = val_dataloader

val_evaluator = dict(type='STAGEAVAMetric', ann_file=ann_file_val, exclude_file=exclude_file_val,
                     label_file=label_file)
test_evaluator = val_evaluator
