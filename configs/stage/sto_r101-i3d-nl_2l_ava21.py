# Table 3.7: 2-layer STO baseline (non-local actor-actor operator within each clip; no graph,
# objects or temporal links) on r101-i3d-nl features, same data and schedule as STAGE.
_base_ = ['./stage_r101-i3d-nl_ava21.py']
model = dict(_delete_=True, type='STO', actor_dim=2048, num_classes=81, num_layers=2,
             latent_dim=512, dropout=0.2, loss='bce', background_column=True,
             data_preprocessor=dict(type='STAGEDataPreprocessor'))
