# PersonArt with the VGGFace2 ResNet-50 as frozen phi (Table A.4, rows without fine-tuning).
# Set model.embedder.checkpoint to the converted VGGFace2 weights (state dict of mmpretrain ResNet).
_base_ = ['../_base_/default_runtime.py', '../_base_/models/personart_resnet50.py',
          '../_base_/datasets/personart_celeba-style.py',
          '../_base_/schedules/personart_adam1e-5_20e.py']
default_hooks = dict(checkpoint=dict(save_best='personart/R@1', rule='greater'))
