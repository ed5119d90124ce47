# Table 3.8 'w/o object-object interactions' on the demo features. No demo class depends on two
# objects, so nothing should drop (a control for the ablations above).
_base_ = ['./stage_cpu-demo_ava-features.py']
model = dict(object_object=False)
