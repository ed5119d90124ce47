# Table 5.3 row 4: SlowFast-R50 4x16 trained and tested on original Kinetics-400 clips; the
# teacher of the SlowFast distillation configs.
_base_ = [
    '../_base_/models/slowfast_privacy.py',
    '../_base_/datasets/kinetics400_privacy_slowfast-4x16x1-256.py',
    '../_base_/schedules/sgd_warmup5-cosine_45e_privacy.py',
    '../_base_/default_runtime.py',
]
default_hooks = dict(checkpoint=dict(interval=5, save_best='acc/top1', max_keep_ckpts=3))
