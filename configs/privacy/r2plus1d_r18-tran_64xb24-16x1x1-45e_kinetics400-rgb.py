# Table 5.1 row 1 / Table 5.2 row 1: R(2+1)D-18 (Tran et al.) trained and tested on original
# Kinetics-400 clips. Also the teacher of every R(2+1)D distillation config.
_base_ = [
    '../_base_/models/r2plus1d_privacy.py',
    '../_base_/datasets/kinetics400_privacy_16x1x1-112.py',
    '../_base_/schedules/sgd_warmup10-step10_45e_privacy.py',
    '../_base_/default_runtime.py',
]
default_hooks = dict(checkpoint=dict(interval=5, save_best='acc/top1', max_keep_ckpts=3))
