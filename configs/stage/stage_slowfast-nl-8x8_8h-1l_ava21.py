# Table 3.6: STAGE (slowfast-nl-8x8) with 8 heads x 1 layers.
_base_ = ['./stage_slowfast-nl-8x8_ava21.py']
model = dict(num_heads=8, num_layers=1)
