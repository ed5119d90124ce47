# PersonArt (thesis App. A.2) with an SE-ResNet-50 phi (the VGGFace2 SE-ResNet-50).
_base_ = ['./personart_resnet50.py']
model = dict(embedder=dict(backbone=dict(type='SEResNet', depth=50, num_stages=4,
                                         out_indices=(3, ), _scope_='mmpretrain')))
