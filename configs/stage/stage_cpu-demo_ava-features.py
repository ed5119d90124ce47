# STAGE on the generated AVA-style demo features (vidplugins/demo_data/ava_features.py;
# python -m vidplugins.demo_data.ava_features data/ava_demo): the I3D model and data pipeline of
# stage_i3d_ava21.py (project feature format, blocks of 6 consecutive keyframes, label assignment,
# test score threshold 0.7, frame-mAP@0.5 with the official csv) at tiny sizes for a CPU:
# 16-d actors, 24-d objects (projected to 16), 2 heads x 2 layers, dropout 0.1, lr 5e-3,
# 30 epochs, evaluated once at the end. The demo's 4 classes need: own features (12 stand),
# nearby objects (15 answer phone), other actors (74 listen to), the next keyframe (6 get up).
_base_ = ['./stage_i3d_ava21.py']
data_root = 'data/ava_demo'
anno_root = f'{data_root}/annotations'
label_file = f'{anno_root}/ava_action_list_demo.pbtxt'
block_size = 6
max_epochs = 30
demo = dict(feature_format='vidplugins', actor_dim=16, object_dim=24, label_file=label_file,
            cache_features=True)   # a few MB: read the h5 files once
loader = dict(batch_size=block_size, num_workers=0, persistent_workers=False)
train_dataloader = dict(
    **loader,
    sampler=dict(type='KeyframeBlockSampler', block_size=block_size, shuffle=True, seed=0,
                 shift_borders=False),
    dataset=dict(ann_file=f'{anno_root}/ava_train_demo.csv',
                 exclude_file=f'{anno_root}/ava_train_excluded_timestamps_demo.csv',
                 actor_file=f'{data_root}/features/train_actors.h5',
                 object_file=f'{data_root}/features/train_objects.h5',
                 assigner=dict(det_score_thr=0.0, pos_iou_thr=0.5), **demo))
val_dataloader = dict(
    **loader,
    sampler=dict(type='KeyframeBlockTestSampler', block_size=block_size),
    dataset=dict(ann_file=f'{anno_root}/ava_val_demo.csv',
                 exclude_file=f'{anno_root}/ava_val_excluded_timestamps_demo.csv',
                 actor_file=f'{data_root}/features/val_actors.h5',
                 object_file=f'{data_root}/features/val_objects.h5',
                 assigner=dict(det_score_thr=0.7), **demo))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=f'{anno_root}/ava_val_demo.csv',
                     exclude_file=f'{anno_root}/ava_val_excluded_timestamps_demo.csv',
                     label_file=label_file, classwise=True)
test_evaluator = val_evaluator

# The demo keeps the setting its figures were measured with (README): dropout 0.1 after the heads,
# none on the layer inputs, block borders fixed (shift_borders=False in the sampler above).
model = dict(actor_dim=16, object_dim=24, num_heads=2, num_layers=2, dropout=0.1,
             input_dropout=0.0)
train_cfg = dict(max_epochs=max_epochs, val_begin=max_epochs, val_interval=max_epochs)
optim_wrapper = dict(optimizer=dict(type='Adam', lr=5e-3))
param_scheduler = []        # no plateau schedule / early stop: one evaluation at the end
custom_hooks = []
default_hooks = dict(logger=dict(interval=50),
                     checkpoint=dict(interval=max_epochs, max_keep_ckpts=1, save_best=None))
randomness = dict(seed=0)
