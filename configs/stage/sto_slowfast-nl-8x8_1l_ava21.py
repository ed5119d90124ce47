# Table 3.7: 1-layer STO baseline (non-local actor-actor operator within each clip; no graph,
# objects or temporal links) on slowfast-nl-8x8 features, same data and schedule as STAGE.
_base_ = ['./stage_slowfast-nl-8x8_ava21.py']
model = dict(_delete_=True, type='STO', actor_dim=2304, num_classes=81, num_layers=1,
             latent_dim=512, dropout=0.2, loss='bce', background_column=True,
             data_preprocessor=dict(type='STAGEDataPreprocessor'))
