# PAS: eps_c(_base_), written by vidplugins.pas.operators
_base_ = 'r2plus1d_r18-tran_64xb24-16x1x1-45e_kinetics400-rgb.py'

model = {'backbone': {'base_channels': 46, 'stem_mid_channels': 32},
 'cls_head': {'in_channels': 368}}
pas_ops = ['c']
