# Table 3.3: STAGE on SlowFast-NL 16x8 features (2304-d, extracted in the project format by
# tools/data/ava/extract_actor_features.py), AVA v2.2, 2 heads x 2 layers.
_base_ = ['./stage_slowfast-nl-8x8_ava22.py']
train_dataloader = dict(dataset=dict(
    actor_file='features/slowfast-nl-16x8/ava22_train_actors.h5',
    feature_format='vidplugins'))
val_dataloader = dict(dataset=dict(
    actor_file='features/slowfast-nl-16x8/ava22_val_actors.h5',
    feature_format='vidplugins'))
test_dataloader = val_dataloader
