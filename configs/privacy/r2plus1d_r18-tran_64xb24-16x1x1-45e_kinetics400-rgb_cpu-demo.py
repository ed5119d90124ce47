# CPU demo of r2plus1d_r18-tran_64xb24-16x1x1-45e_kinetics400-rgb.py (teacher): trained on the generated set's original clips.
_base_ = ['./r2plus1d_r18-tran_64xb24-16x1x1-45e_kinetics400-rgb.py', '../_base_/models/r2plus1d_privacy_cpu-demo.py',
          '../_base_/datasets/kinetics400_privacy_cpu-demo.py']
model = {{_base_.demo_recognizer}}
train_dataloader = dict(
    batch_size=16, num_workers=0, persistent_workers=False,
    dataset=dict(times=1, dataset=dict(
        data_root={{_base_.demo_data_root}}, ann_file='train_list.txt',
        data_prefix=dict(video='videos'), pipeline={{_base_.demo_train_pipeline}})))
val_dataloader = None
val_cfg = None
val_evaluator = None
test_dataloader = dict(
    batch_size=16, num_workers=0, persistent_workers=False,
    dataset=dict(data_root={{_base_.demo_data_root}}, ann_file='test_list.txt',
                 data_prefix=dict(video='videos'), pipeline={{_base_.demo_test_pipeline}}))
train_cfg = dict(max_epochs=10, val_interval=10)
# Adam instead of the real schedule's SGD: a few CPU epochs from scratch.
optim_wrapper = dict(optimizer=dict(_delete_=True, type='AdamW', lr=3e-3, weight_decay=1e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=9, eta_min=0, by_epoch=True,
         begin=1, end=10, convert_to_iter_based=True),
]
default_hooks = dict(logger=dict(interval=10),
                     checkpoint=dict(interval=10, save_best=None,
                                     max_keep_ckpts=1))
randomness = dict(seed=0)
