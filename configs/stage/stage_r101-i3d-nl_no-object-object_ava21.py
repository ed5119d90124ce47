# Table 3.8 'w/o object-object interactions'.
_base_ = ['./stage_r101-i3d-nl_ava21.py']
model = dict(object_object=False)
