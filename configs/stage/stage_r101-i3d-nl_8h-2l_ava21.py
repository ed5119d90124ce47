# Table 3.6: STAGE (r101-i3d-nl) with 8 heads x 2 layers.
_base_ = ['./stage_r101-i3d-nl_ava21.py']
model = dict(num_heads=8, num_layers=2)
