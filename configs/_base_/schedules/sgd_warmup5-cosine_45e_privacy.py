# SlowFast-R50 schedule of the thesis (Sec. 5.3.1): 45 epochs, SGD, lr 1.6 for a total batch of
# 2048, linear warm-up over 5 epochs, then cosine annealing. Momentum / weight decay / clipping:
# mmaction2's SlowFast recipe values (not stated in the thesis).
max_epochs = 45
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_begin=1, val_interval=5)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=1.6, momentum=0.9, weight_decay=1e-4),
    clip_grad=dict(max_norm=40, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=5,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 5, eta_min=0, by_epoch=True, begin=5,
         end=max_epochs, convert_to_iter_based=True),
]
auto_scale_lr = dict(enable=False, base_batch_size=2048)
