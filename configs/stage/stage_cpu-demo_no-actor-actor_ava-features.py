# Table 3.8 'w/o actors-actors interactions' on the demo features: the classes decided by other
# actors (74 listen to) or by the actor in the next keyframe (6 get up) must drop.
_base_ = ['./stage_cpu-demo_ava-features.py']
model = dict(actor_actor=False)
