# Table 3.8 'w/o object-object interactions'.
_base_ = ['./stage_i3d_ava21.py']
model = dict(object_object=False)
