# STAGE on R101-I3D-NL (2048-d) actor features + Visual Genome object features (2048-d), AVA v2.1:
# Table 3.2 main model, 2 heads x 2 layers (Table 3.6 best), lr 1e-5 (Sec. 3.2.2).
_base_ = [
    '../_base_/models/stage.py',
    '../_base_/datasets/stage_ava21_r101-i3d-nl-features.py',
    '../_base_/schedules/adam_plateau_20e_lr1e-5.py',
    '../_base_/default_runtime.py',
]
model = dict(actor_dim=2048, object_dim=2048, num_heads=2, num_layers=2)
default_hooks = dict(checkpoint=dict(save_best='mAP/frame_mAP', rule='greater'))
