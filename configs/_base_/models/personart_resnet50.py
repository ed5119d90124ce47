# PersonArt (thesis App. A.2) with a ResNet-50 phi (the VGGFace2 ResNet-50): 2048-d global pooled
# features. Weights from a user file: set model.embedder.checkpoint (a state dict of mmpretrain's
# ResNet, or a full checkpoint with checkpoint_prefix='backbone.').
custom_imports = dict(imports=['vidplugins.personart'], allow_failed_imports=False)
model = dict(
    type='PersonArt',
    embedder=dict(
        type='BackboneEmbedder',
        backbone=dict(type='ResNet', depth=50, num_stages=4, out_indices=(3, ),
                      _scope_='mmpretrain'),
        checkpoint=None,
        frozen=True),
    feat_dim=2048,
    residual=True,
    num_attributes=40,
    shared_attributes=False,
    margin=0.1,
    lam=0.2)
