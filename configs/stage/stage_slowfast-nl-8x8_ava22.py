# Table 3.3: STAGE on SlowFast-NL 8x8 features (authors' release), AVA v2.2, 2 heads x 2 layers.
# The thesis's test-server number trains on train + val; this config trains on train, validates
# on val (the "val mAP" column).
_base_ = [
    '../_base_/models/stage.py',
    '../_base_/datasets/stage_ava22_slowfast-nl-features.py',
    '../_base_/schedules/adam_plateau_20e_lr1e-5.py',
    '../_base_/default_runtime.py',
]
model = dict(actor_dim=2304, object_dim=2048, num_heads=2, num_layers=2)
default_hooks = dict(checkpoint=dict(save_best='mAP/frame_mAP', rule='greater'))
