# Table 3.8 'w/o temporal connections' on the demo features: the class decided by the next
# keyframe (6 get up) must drop.
_base_ = ['./stage_cpu-demo_ava-features.py']
model = dict(temporal_radius=0)
