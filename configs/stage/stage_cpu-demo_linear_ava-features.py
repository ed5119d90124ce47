# Per-actor linear classifier on the demo's actor features (the baseline STAGE must beat): same
# data, schedule and evaluation as stage_cpu-demo_ava-features.py.
_base_ = ['./stage_cpu-demo_ava-features.py']
model = dict(_delete_=True, type='ActorLinearClassifier', actor_dim=16, num_classes=81,
             loss='bce', background_column=True,
             data_preprocessor=dict(type='STAGEDataPreprocessor'))
