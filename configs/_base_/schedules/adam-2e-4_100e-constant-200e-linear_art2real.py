# Thesis App. A.1.2: Adam 2e-4 (CycleGAN's betas 0.5, 0.999), batch 1, 100 epochs constant then
# linear decay to 0 over 200 epochs; FID against real photos every epoch, early stop after 30
# epochs without improvement.
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=300, val_begin=1, val_interval=1)
val_cfg = dict(type='MultiValLoop')
test_cfg = dict(type='MultiTestLoop')

optim_wrapper = dict(
    constructor='MultiOptimWrapperConstructor',
    generators=dict(optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999))),
    discriminators=dict(optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999))))

# LinearLR reaches end_factor on its last epoch (299): 1/200 makes the lr of epoch e
# 2e-4 * (1 - (e - 100) / 200), zero at the end of training, instead of a last epoch at lr 0.
param_scheduler = [
    dict(type='LinearLR', start_factor=1.0, end_factor=1 / 200, by_epoch=True, begin=100,
         end=300)
]

custom_hooks = [
    dict(type='EarlyStoppingHook', monitor='FID-painting2photo/fid', rule='less', patience=30),
]
