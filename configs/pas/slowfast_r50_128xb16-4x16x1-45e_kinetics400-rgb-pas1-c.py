# PAS: eps_c(_base_), written by vidplugins.pas.operators
_base_ = 'slowfast_r50_128xb16-4x16x1-45e_kinetics400-rgb.py'

model = {'backbone': {'slow_pathway': {'base_channels': 46},
              'fast_pathway': {'base_channels': 6},
              'type': 'ResNet3dSlowFastWidths'},
 'cls_head': {'in_channels': 1664}}
pas_ops = ['c']
