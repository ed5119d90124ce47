# PAS base B (metafile: pas_slowfast-4x16-r50_k400_base): SlowFast-4x16-R50 trained with CE on
# Kinetics-400 (Sec. 6.2.2: short side random in [256, 320], random 224 crop, 64 raw frames, 3
# clips per video per epoch, SGD lr 1.6 / batch 2048 on 128 GPUs, 5 warm-up epochs then cosine,
# 45 epochs; test 10 clips x centre crop 256). Table 6.1: 73.5 top-1, 36.6 GFLOPs x 10 views.
_base_ = [
    '../_base_/models/slowfast-4x16-r50_pas.py',
    '../_base_/datasets/kinetics400_privacy_slowfast-4x16x1-256.py',
    '../_base_/schedules/sgd_warmup5-cosine_45e_privacy.py',
    '../_base_/default_runtime.py',
]
train_dataloader = dict(batch_size=16)   # x 128 GPUs = 2048
flops_input_shape = (1, 3, 32, 256, 256)   # one test view: the fast path's 32 frames
default_hooks = dict(checkpoint=dict(interval=5, save_best='acc/top1', max_keep_ckpts=3))
