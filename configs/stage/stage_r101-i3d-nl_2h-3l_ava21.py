# Table 3.6: STAGE (r101-i3d-nl) with 2 heads x 3 layers.
_base_ = ['./stage_r101-i3d-nl_ava21.py']
model = dict(num_heads=2, num_layers=3)
