# J-HMDB-21 (split 1; set split in the file names for 2 and 3) with pre-extracted actor features of
# the detection backbone (Action tubes* or AMTnet*, Table 3.5) in the project format; actors only,
# no objects (Sec. 3.3.1). Annotations in the AVA csv layout (video_id, frame, x1, y1, x2, y2,
# class 1..21, person_id); one label per actor: softmax cross-entropy, frame-mAP@0.5.
dataset_type = 'AVAFeatureDataset'
data_root = 'data/jhmdb'
anno_root = 'data/jhmdb/annotations'
split = 1
ann_file_train = f'{anno_root}/jhmdb21_train_split{split}.csv'
ann_file_val = f'{anno_root}/jhmdb21_test_split{split}.csv'
label_file = f'{anno_root}/jhmdb21_label_map.txt'
block_size = 6

common = dict(type=dataset_type, label_file=label_file,
              feature_format='vidplugins', actor_dim=1024, object_file=None, num_classes=22,
              multilabel=False, pipeline=[dict(type='PackSTAGEInputs')])
train_dataloader = dict(
    batch_size=block_size,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='KeyframeBlockSampler', block_size=block_size, shuffle=True),
    dataset=dict(ann_file=ann_file_train,
                 actor_file=f'{data_root}/features/jhmdb21_train_split{split}_actors.h5',
                 **common))
val_dataloader = dict(
    batch_size=block_size,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='KeyframeBlockTestSampler', block_size=block_size),
    dataset=dict(ann_file=ann_file_val,
                 actor_file=f'{data_root}/features/jhmdb21_test_split{split}_actors.h5',
                 test_mode=True, **common))
test_dataloader = val_dataloader

val_evaluator = dict(type='FrameMAPMetric', ann_file=ann_file_val, label_file=label_file,
                     iou_thr=0.5)
test_evaluator = val_evaluator
