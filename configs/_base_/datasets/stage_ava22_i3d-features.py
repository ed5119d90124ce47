# AVA v2.2 with I3D actor features (1024-d) and Visual Genome Faster R-CNN object features
# (2048-d) in the project format (the authors' I3D release covers v2.1 only), written by
# tools/data/ava/extract_{actor,object}_features.py. Label assignment of Sec. 3.2.2 for I3D:
# train on ground truth + detections of any score labelled at IoU >= 0.5, test at score >= 0.7.
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
              feature_format='vidplugins', actor_dim=1024, object_dim=2048,
              pipeline=[dict(type='PackSTAGEInputs')])
train_dataloader = dict(
    batch_size=block_size,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='KeyframeBlockSampler', block_size=block_size, shuffle=True),
    dataset=dict(ann_file=ann_file_train, exclude_file=exclude_file_train,
                 actor_file=f'{data_root}/features/i3d/ava22_train_actors.h5',
                 object_file=f'{data_root}/features/vg-faster-rcnn/ava22_train_objects.h5',
                 assigner=dict(det_score_thr=0.0, pos_iou_thr=0.5), **common))
val_dataloader = dict(
    batch_size=block_size,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='KeyframeBlockTestSampler', block_size=block_size),
    dataset=dict(ann_file=ann_file_val, exclude_file=exclude_file_val,
                 actor_file=f'{data_root}/features/i3d/ava22_val_actors.h5',
                 object_file=f'{data_root}/features/vg-faster-rcnn/ava22_val_objects.h5',
                 assigner=dict(det_score_thr=0.7), test_mode=True, **common))
test_dataloader = val_dataloader

# Frame-mAP@0.5 on the 60 evaluated classes + per-group mAP (Table 3.4); csv of the official format.
val_evaluator = dict(type='STAGEAVAMetric', ann_file=ann_file_val, exclude_file=exclude_file_val,
                     label_file=label_file)
test_evaluator = val_evaluator
