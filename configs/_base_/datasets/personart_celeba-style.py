# CelebA (official files) and its style-transferred copy (tools/personart/stylize.py writes
# data/celeba/img_style_celeba/ with the same file names). Training: (photo, proxy) pairs of the
# train split; validation / test: photos query the proxies of the val / test split.
data_root = 'data/celeba'
img_size = 224
train_dataloader = dict(
    batch_size=32, num_workers=4, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='CelebAFaces', data_root=data_root, split='train', pairs=True,
                 img_size=img_size))
val_dataloader = dict(
    batch_size=64, num_workers=4, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='CelebAFaces', data_root=data_root, split='val', pairs=False,
                 img_size=img_size))
test_dataloader = dict(
    batch_size=64, num_workers=4, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='CelebAFaces', data_root=data_root, split='test', pairs=False,
                 img_size=img_size))
val_evaluator = dict(type='PersonArtRetrievalMetric', lam=0.2, feedback_iterations=(1, 5, 10),
                     max_feedback_queries=989)
test_evaluator = val_evaluator
