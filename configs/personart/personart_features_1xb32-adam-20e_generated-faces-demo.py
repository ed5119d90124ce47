# CPU demo (demo/personart_demo.py): generated identities rendered as photos and as "paintings"
# (a fixed stylisation), written as a small CelebA; phi is a frozen, randomly initialised
# mmpretrain ResNet-18 (first two stages, 2x2 average pooling) whose features are precomputed, as
# in the thesis' frozen-phi setting. Differences from the real recipe, for a few CPU minutes:
# narrower attribute branches (64-32-16-2), lr 1e-3 (projections) / 1e-2 (branches), 20 epochs,
# and phi standardised per domain before the projections (phi_norm: a random network's post-ReLU
# features share one large common component that leaves every cosine near 1).
_base_ = ['../_base_/default_runtime.py']
custom_imports = dict(imports=['vidplugins.personart'], allow_failed_imports=False)
demo_root = 'data/personart_demo'
feat_dim = 512
# phi used by the demo to precompute the feature files (and by the app on images).
phi = dict(type='BackboneEmbedder',
           backbone=dict(type='ResNet', depth=18, num_stages=2, out_indices=(1, ),
                         strides=(1, 2), dilations=(1, 1), _scope_='mmpretrain'),
           frozen=True, pool=2)
model = dict(type='PersonArt', embedder=None, feat_dim=feat_dim, residual=True, phi_norm=True,
             num_attributes=40, attribute_hidden=(64, 32, 16), margin=0.1, lam=0.2)
train_dataloader = dict(
    batch_size=32, num_workers=0, persistent_workers=False, drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='FaceFeatureSet', ann_file=demo_root + '/features_train.npz', pairs=True))
test_dataloader = dict(
    batch_size=256, num_workers=0, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='FaceFeatureSet', ann_file=demo_root + '/features_test.npz', pairs=False))
test_evaluator = dict(type='PersonArtRetrievalMetric', lam=0.2, feedback_iterations=(1, 5, 10),
                      max_feedback_queries=200)
val_dataloader = test_dataloader
val_evaluator = test_evaluator
optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-3),
                     paramwise_cfg=dict(custom_keys={'attr_real': dict(lr_mult=10.0),
                                                     'attr_art': dict(lr_mult=10.0)}))
param_scheduler = []
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=20, val_interval=1000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(logger=dict(interval=10),
                     checkpoint=dict(interval=20, save_best=None, max_keep_ckpts=1))
randomness = dict(seed=0)
