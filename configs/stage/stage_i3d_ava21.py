# STAGE on I3D (1024-d, Mixed_5 features of the authors' release) actor features + Visual Genome object features (2048-d), AVA v2.1:
# Table 3.2 main model, 4 heads x 2 layers (Table 3.6 best), lr 6.25e-5 (Sec. 3.2.2).
_base_ = [
    '../_base_/models/stage.py',
    '../_base_/datasets/stage_ava21_i3d-features.py',
    '../_base_/schedules/adam_plateau_20e.py',
    '../_base_/default_runtime.py',
]
model = dict(actor_dim=1024, object_dim=2048, num_heads=4, num_layers=2)
default_hooks = dict(checkpoint=dict(save_best='mAP/frame_mAP', rule='greater'))
