# Table 3.8 'w/o object-object interactions'.
_base_ = ['./stage_slowfast-nl-8x8_ava21.py']
model = dict(object_object=False)
