# Table 3.8 'w/o actors-actors interactions': actors updated from objects only.
_base_ = ['./stage_i3d_ava21.py']
model = dict(actor_actor=False)
