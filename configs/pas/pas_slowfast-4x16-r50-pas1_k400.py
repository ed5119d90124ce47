# PAS: eps_c(_base_), written by vidplugins.pas.operators
_base_ = 'pas_slowfast-4x16-r50_k400_base.py'

model = {'backbone': {'slow_pathway': {'base_channels': 46},
              'fast_pathway': {'base_channels': 6},
              'type': 'ResNet3dSlowFastWidths'},
 'cls_head': {'in_channels': 1664}}
pas_ops = ['c']
