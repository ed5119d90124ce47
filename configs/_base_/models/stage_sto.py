# STO baseline (Table 3.7): non-local actor-actor layers within each clip (LFB's short-term
# operator), no graph, no objects, no temporal links; Linear classifier on the actors.
custom_imports = dict(imports=['vidplugins.stage'], allow_failed_imports=False)
model = dict(
    type='STO',
    actor_dim=1024,
    num_classes=81,
    num_layers=1,
    latent_dim=512,
    dropout=0.2,
    loss='bce',
    background_column=True,
    data_preprocessor=dict(type='STAGEDataPreprocessor'))
flops_inputs = dict(num_actors=4, num_objects=25)
flops_linear_only = True
