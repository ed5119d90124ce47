# SoccerNet-v1 with the ResNet-152 PCA-512 features released with the dataset, 2 fps.
# data/soccernet/<league>/<season>/<game>/{Labels.json, 1_ResNet_PCA512.npy, 2_ResNet_PCA512.npy}
# and the official game lists listgame_{Train_300,Valid_100,Test_100}.npy (see configs/rmsnet/README.md).
dataset_type = 'SoccerNetWindowDataset'
test_dataset_type = 'SoccerNetGameDataset'
data_root = 'data/soccernet'
common = dict(data_root=data_root, version=1, feature_name='ResNet_PCA512', feature_dim=512,
              fps=2.0, window_size=41)

train_pipeline = [
    dict(type='MaskEventContext', p=1 / 3, q=0.5, side='before'),   # M(p, q), Eq. 4.4
    dict(type='PackSpottingInputs'),
]
test_pipeline = [dict(type='PackSpottingInputs')]

train_dataloader = dict(
    batch_size=64,
    num_workers=2,
    persistent_workers=True,
    # n_F = 30,000 foreground and n_F / C = 10,000 background windows per epoch (Sec. 4.2.2).
    sampler=dict(type='SpottingBalancedSampler', num_foreground=30000, mode='foreground'),
    dataset=dict(type=dataset_type, ann_file='listgame_Train_300.npy',
                 pipeline=train_pipeline, drop_halftime_substitutions=True, **common))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=test_dataset_type, ann_file='listgame_Valid_100.npy',
                 pipeline=test_pipeline, test_mode=True, **common))
test_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=test_dataset_type, ann_file='listgame_Test_100.npy',
                 pipeline=test_pipeline, test_mode=True, **common))

# Average-mAP, loose tolerances 5-60 s (Sec. 4.2.1); tight 1-5 s reported alongside. Each window
# predicts its clip class (arg-max, background gives no spot) at s + offset * T (Sec. 4.2.2);
# spot_rule='per_class' gives one candidate per foreground class and window instead.
val_evaluator = dict(type='SpottingMetric', version=1, tolerances=('loose', 'tight'),
                     main_metric='loose', spot_rule='clip_class')
test_evaluator = val_evaluator
