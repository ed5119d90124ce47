# PersonArt training (App. A.2.2): Adam, lr 1e-5 for the projections (x0.1 when the validation
# recall stops improving), attribute branches at 1e-4 (x0.8 every 3 epochs in the thesis; here they
# share the plateau rule), batch 32.
optim_wrapper = dict(
    optimizer=dict(type='Adam', lr=1e-5),
    paramwise_cfg=dict(custom_keys={'attr_real': dict(lr_mult=10.0),
                                    'attr_art': dict(lr_mult=10.0)}))
param_scheduler = [
    dict(type='ReduceOnPlateauLR', monitor='personart/R@1', rule='greater', factor=0.1,
         patience=2, by_epoch=True)]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=20, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
# leaf configs keep the best validation R@1:
# default_hooks = dict(checkpoint=dict(save_best='personart/R@1', rule='greater'))
