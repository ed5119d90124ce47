# Table 3.3: STAGE on SlowFast-NL 16x8 features (2304-d, extracted in the project format by
# tools/data/ava/extract_actor_features.py), AVA v2.2, 2 heads x 2 layers. Objects: the Visual
# Genome features of the authors' I3D release, as the 8x8 config (object_format='stage-i3d').
_base_ = ['./stage_slowfast-nl-8x8_ava22.py']
# Sec. 3.2.2 (SlowFast-NL): ground-truth boxes and detections of score >= 0.9 for training, labels
# copied at IoU >= 0.9; detections of score >= 0.8 at test time.
train_dataloader = dict(dataset=dict(
    actor_file='data/ava/features/slowfast-nl-16x8/ava22_train_actors.h5',
    feature_format='vidplugins', object_format='stage-i3d',
    assigner=dict(det_score_thr=0.9, pos_iou_thr=0.9)))
val_dataloader = dict(dataset=dict(
    actor_file='data/ava/features/slowfast-nl-16x8/ava22_val_actors.h5',
    feature_format='vidplugins', object_format='stage-i3d', assigner=dict(det_score_thr=0.8)))
test_dataloader = val_dataloader
