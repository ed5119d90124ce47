# Table 3.5, J-HMDB-21 split 3: stage_amtnet_jhmdb21.py (split 1) on the split-3 lists and features.
# The thesis reports the mean of splits 1-3: test each split's best checkpoint and average with
# tools/analysis/average_splits.py (configs/stage/README.md).
_base_ = ['./stage_amtnet_jhmdb21.py']
split = 3
anno_root = 'data/jhmdb/annotations'
features = 'data/jhmdb/features'
ann_file_val = f'{anno_root}/jhmdb21_test_split{split}.csv'
train_dataloader = dict(dataset=dict(
    ann_file=f'{anno_root}/jhmdb21_train_split{split}.csv',
    actor_file=f'{features}/jhmdb21_train_split{split}_actors.h5'))
val_dataloader = dict(dataset=dict(
    ann_file=ann_file_val, actor_file=f'{features}/jhmdb21_test_split{split}_actors.h5'))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=ann_file_val)
test_evaluator = val_evaluator
