# Table 3.6: STAGE (slowfast-nl-8x8) with 4 heads x 2 layers.
_base_ = ['./stage_slowfast-nl-8x8_ava21.py']
model = dict(num_heads=4, num_layers=2)
