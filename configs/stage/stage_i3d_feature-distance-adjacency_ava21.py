# Table 3.8 'w/ nodes Euclidean distance': Eq. 3.11 in place of Eq. 3.1.
_base_ = ['./stage_i3d_ava21.py']
model = dict(adjacency='feature')
