# Table 3.3, "STAGE 16x8 + 8x8": the SlowFast-NL 8x8 (authors' release) and 16x8 (project format)
# actor features of the same boxes "are averaged before being forwarded through STAGE"
# (Sec. 3.3.1): one model, trained and tested on the box-by-box mean of the two 2304-d sets.
# The 16x8 files must hold the boxes of the 8x8 release (same keyframes, same boxes in the same
# order): AVAFeatureDataset raises naming both files and the keyframe otherwise. Labels come from
# the first file (the release's). Objects as the 8x8 config.
_base_ = ['./stage_slowfast-nl-8x8_ava22.py']
sf8x8 = 'data/ava/features/stage_slowfast'
sf16x8 = 'data/ava/features/slowfast-nl-16x8'
train_dataloader = dict(dataset=dict(
    actor_file=[f'{sf8x8}/ava2.2_train.h5', f'{sf16x8}/ava22_train_boxes-8x8_actors.h5'],
    feature_format=['stage-slowfast', 'vidplugins'], object_format='stage-i3d'))
val_dataloader = dict(dataset=dict(
    actor_file=[f'{sf8x8}/ava2.2_val.h5', f'{sf16x8}/ava22_val_boxes-8x8_actors.h5'],
    feature_format=['stage-slowfast', 'vidplugins'], object_format='stage-i3d'))
test_dataloader = val_dataloader
