# SGD, lr 0.05, momentum 0.9, wd 1e-4; linear warm-up over the first epoch then cosine; at most
# 50 epochs with early stopping on validation Average-mAP (thesis Sec. 4.2.2).
max_epochs = 50
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_begin=1, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=1e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, eta_min=0, by_epoch=True, begin=1,
         end=max_epochs, convert_to_iter_based=True),
]
custom_hooks = [dict(type='EarlyStoppingHook', monitor='spotting/a_mAP_loose', rule='greater',
                     patience=10)]
auto_scale_lr = dict(enable=False, base_batch_size=64)
