# SoccerNet-v2, train + valid -> test (Sec. 4.3, "Results": 63.49 test Average-mAP "after training
# on both training and validation splits"): the challenge recipe (ResNet-152 fine-tuned from conv4,
# 300 x 533 frames, per-class sampling, no masking, 20 epochs, windows every 4 frames + NMS over
# 31 frames) trained without the test games, then scored on the labelled test split. No
# validation split is left: training runs its 20 epochs and the last checkpoint is tested.
_base_ = './rmsnet_resnet152-e2e-frames_soccernet-v2-challenge.py'
common = dict(version=2, feature_name='frames_300x533', frame_size=(300, 533))
train_dataloader = dict(dataset=dict(ann_file='listgame_v2_train.json',
                                     extra_ann_files=['listgame_v2_valid.json']))
test_dataloader = dict(dataset=dict(with_labels=True, ann_file='listgame_v2_test.json', **common))
val_dataloader = None
val_evaluator = None
val_cfg = None
default_hooks = dict(checkpoint=dict(save_best=None))
custom_hooks = []                       # no early stopping without a validation split
