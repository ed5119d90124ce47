# SoccerNet-v2 challenge submission (Sec. 4.3): ResNet-152 fine-tuned from conv4 (stages 3-4),
# 300 x 533 frames at 2 fps, 17 + 1 classes, per-class balanced sampling, no masking; batch 32,
# lr 0.0032, 20 epochs, trained on train + valid + test; inference with windows every 4 frames and
# NMS over 31 frames (15 s). Game lists: tools/data/soccernet/make_game_lists.py (from the SoccerNet
# package).
_base_ = './rmsnet_resnet152-e2e-frames_soccernet-v1.py'
data_root = 'data/soccernet'
common = dict(version=2, feature_name='frames_300x533', frame_size=(300, 533))
model = dict(backbone=dict(frozen_stages=2), head=dict(num_classes=17))
train_dataloader = dict(
    batch_size=32,
    sampler=dict(type='SpottingBalancedSampler', mode='per_class', num_foreground=None),
    # Sec. 4.3 names no half-time rule for the challenge: every spot is trained on.
    dataset=dict(pipeline=[dict(type='PackSpottingInputs')], drop_halftime_substitutions=False,
                 ann_file='listgame_v2_train.json',
                 extra_ann_files=['listgame_v2_valid.json',
                                  'listgame_v2_test.json'], **common))
val_dataloader = dict(dataset=dict(stride=4, ann_file='listgame_v2_test.json',
                                   **common))
test_dataloader = dict(dataset=dict(stride=4, with_labels=False,
                                    ann_file='listgame_v2_challenge.json', **common))
val_evaluator = dict(type='SpottingMetric', version=2, nms_window=31)
test_evaluator = val_evaluator
max_epochs = 20
train_cfg = dict(max_epochs=max_epochs, val_interval=5)
optim_wrapper = dict(optimizer=dict(lr=0.0032))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, eta_min=0, by_epoch=True, begin=1,
         end=max_epochs, convert_to_iter_based=True),
]
flops_input_shape = (41, 3, 300, 533)
