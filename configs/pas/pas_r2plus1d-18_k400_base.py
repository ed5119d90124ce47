# PAS base B (metafile: pas_r2plus1d-18_k400_base): R(2+1)D-18 trained with CE on Kinetics-400
# (Sec. 6.2.2: 128 x 171 resize, random 112 crop, 16 consecutive frames, 3 clips per video per
# epoch, SGD lr 0.96 / batch 1536, 10 warm-up epochs, /10 every 10, 45 epochs; test 10 clips x
# centre crop 112). Table 6.1: 69.2 top-1, 40.8 GFLOPs x 10 views.
_base_ = [
    '../_base_/models/r2plus1d-18-tran_pas.py',
    '../_base_/datasets/kinetics400_privacy_16x1x1-112.py',
    '../_base_/schedules/sgd_warmup10-step10_45e_privacy.py',
    '../_base_/default_runtime.py',
]
flops_input_shape = (1, 3, 16, 112, 112)   # one view (V, C, T, H, W)
default_hooks = dict(checkpoint=dict(interval=5, save_best='acc/top1', max_keep_ckpts=3))
