# Table 3.8 'w/o boxes proximity': ones on the edges instead of Eq. 3.1.
_base_ = ['./stage_slowfast-nl-8x8_ava21.py']
model = dict(adjacency='none')
