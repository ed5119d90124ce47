# Table 3.8 'w/o temporal connections': only entities of the same clip linked.
_base_ = ['./stage_r101-i3d-nl_ava21.py']
model = dict(temporal_radius=0)
