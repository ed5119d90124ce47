# Linear classifier on the frozen i3d actor features (stand-in for the "Original Backbone" row of
# Tables 3.2 / 3.8), same data and schedule as STAGE.
_base_ = ['./stage_i3d_ava21.py']
model = dict(_delete_=True, type='ActorLinearClassifier', actor_dim=1024, num_classes=81,
             loss='bce', background_column=True,
             data_preprocessor=dict(type='STAGEDataPreprocessor'))
