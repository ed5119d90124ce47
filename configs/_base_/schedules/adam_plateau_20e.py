# Sec. 3.2.2: Adam, lr 6.25e-5 (I3D features), no weight decay, no augmentation; lr x0.1 after 10
# epochs without a gain of validation mAP; early stopping "after five consecutive epochs" without
# a gain; about 20 epochs (Table 3.9). Batches of 6 consecutive keyframes come from the dataset base.
# Taken literally the stop (5) would always fire before the plateau (10) could lower the lr, so the
# stop counts its 5 epochs after the reduction: patience 10 + 5 = 15 (configs/stage/README.md).
max_epochs = 20
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_begin=1, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(optimizer=dict(type='Adam', lr=6.25e-5))
# "Does not increase": any increase is a gain, an equal mAP is not (threshold 0 'abs' for the
# plateau; the stop counts an epoch as a gain only above best + min_delta, so min_delta is tiny
# but positive). mmengine (as PyTorch) lowers the lr after ``patience + 1`` epochs without a
# gain: patience 9 lowers it once ten consecutive epochs brought none; the stop fires after
# ``patience`` such epochs, 5 after the reduction (tests/test_schedules.py steps both).
param_scheduler = [
    dict(type='ReduceOnPlateauLR', monitor='mAP/frame_mAP', rule='greater', factor=0.1,
         patience=9, threshold=0., threshold_rule='abs', by_epoch=True)
]
custom_hooks = [dict(type='EarlyStoppingHook', monitor='mAP/frame_mAP', rule='greater',
                     min_delta=1e-9, patience=15)]
auto_scale_lr = dict(enable=False, base_batch_size=6)
