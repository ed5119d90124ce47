# Table 3.3: STAGE on SlowFast-NL 16x8 features (2304-d, extracted in the project format by
# tools/data/ava/extract_actor_features.py), AVA v2.2, 2 heads x 2 layers. Objects: the Visual
# Genome features of the authors' I3D release, as the 8x8 config (object_format='stage-i3d').
_base_ = ['./stage_slowfast-nl-8x8_ava22.py']
train_dataloader = dict(dataset=dict(
    actor_file='data/ava/features/slowfast-nl-16x8/ava22_train_actors.h5',
    feature_format='vidplugins', object_format='stage-i3d'))
val_dataloader = dict(dataset=dict(
    actor_file='data/ava/features/slowfast-nl-16x8/ava22_val_actors.h5',
    feature_format='vidplugins', object_format='stage-i3d'))
test_dataloader = val_dataloader
