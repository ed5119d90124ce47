# STAGE without object nodes on the demo features (actors only, as on J-HMDB / UCF): the class
# decided by a nearby object (15 answer phone) must drop.
_base_ = ['./stage_cpu-demo_ava-features.py']
model = dict(object_dim=None)
train_dataloader = dict(dataset=dict(object_file=None))
val_dataloader = dict(dataset=dict(object_file=None))
test_dataloader = val_dataloader
