# Table 5.3 row 1: R3D-18 (Tran et al.) trained and tested on original Kinetics-400 clips; the
# teacher of the R3D distillation configs.
_base_ = [
    '../_base_/models/r3d_privacy.py',
    '../_base_/datasets/kinetics400_privacy_16x1x1-112.py',
    '../_base_/schedules/sgd_warmup10-step10_45e_privacy.py',
    '../_base_/default_runtime.py',
]
default_hooks = dict(checkpoint=dict(interval=5, save_best='acc/top1', max_keep_ckpts=3))
