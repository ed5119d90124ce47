# Per-actor linear classifier on the frozen actor features: the "*" rows of Table 3.5 and, on AVA,
# the stand-in for the "Original Backbone" rows of Tables 3.2 / 3.8 (the backbone's own classifier
# on the same features).
custom_imports = dict(imports=['vidplugins.stage'], allow_failed_imports=False)
model = dict(
    type='ActorLinearClassifier',
    actor_dim=1024,
    num_classes=81,
    loss='bce',
    background_column=True,
    data_preprocessor=dict(type='STAGEDataPreprocessor'))
flops_inputs = dict(num_actors=4, num_objects=25)
flops_linear_only = True
