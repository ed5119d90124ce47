# R(2+1)D-18 / R3D-18 schedule of the thesis (Sec. 5.3.1, after Tran et al.): 45 epochs, SGD,
# lr 0.96 for a total batch of 1536, linear warm-up over the first 10 epochs, then divided by 10
# every 10 epochs. Momentum, weight decay and gradient clipping are not stated in the thesis:
# mmaction2's R(2+1)D recipe values.
max_epochs = 45
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_begin=1, val_interval=5)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.96, momentum=0.9, weight_decay=1e-4),
    clip_grad=dict(max_norm=40, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=10,
         convert_to_iter_based=True),
    # mmengine counts a scheduler's milestones from its ``begin``: 10 + [10, 20, 30] drops the lr
    # at epochs 20, 30 and 40 (tests/test_schedules.py steps it against the thesis).
    dict(type='MultiStepLR', by_epoch=True, begin=10, end=max_epochs, milestones=[10, 20, 30],
         gamma=0.1),
]
auto_scale_lr = dict(enable=False, base_batch_size=1536)
