# PAS: eps_l(_base_), written by vidplugins.pas.operators
_base_ = '../pas_r2plus1d-18_k400_base.py'

model = {'backbone': {'stage_blocks': (1, 1, 1, 1)}}
pas_ops = ['l']
