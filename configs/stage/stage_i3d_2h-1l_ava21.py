# Table 3.6: STAGE (i3d) with 2 heads x 1 layers.
_base_ = ['./stage_i3d_ava21.py']
model = dict(num_heads=2, num_layers=1)
