# PAS: eps_c(_base_), written by vidplugins.pas.operators
_base_ = 'pas_r2plus1d-18_k400_base.py'

model = {'backbone': {'base_channels': 46, 'stem_mid_channels': 32},
 'cls_head': {'in_channels': 368}}
pas_ops = ['c']
