# Table 3.6: STAGE (slowfast-nl-8x8) with 2 heads x 1 layers.
_base_ = ['./stage_slowfast-nl-8x8_ava21.py']
model = dict(num_heads=2, num_layers=1)
