# PersonArt with the VGGFace2 SE-ResNet-50 as frozen phi (Table A.4).
_base_ = ['../_base_/default_runtime.py', '../_base_/models/personart_seresnet50.py',
          '../_base_/datasets/personart_celeba-style.py',
          '../_base_/schedules/personart_adam1e-5_20e.py']
default_hooks = dict(checkpoint=dict(save_best='personart/R@1', rule='greater'))
