# STAGE on pre-extracted features (thesis Sec. 3.1, Fig. 3.2): actors + objects of consecutive clips,
# box geometry appended, the larger features projected to the smaller size, L graph-attention layers
# of H heads (LeakyReLU 0.2, ELU, dropout 0.5), temporal receptive field 3 (radius 1 s), Linear on
# the actors; sigmoid BCE over AVA's 80 classes (81 outputs, column 0 = background, as mmaction2).
custom_imports = dict(imports=['vidplugins.stage'], allow_failed_imports=False)
model = dict(
    type='STAGE',
    actor_dim=1024,
    object_dim=2048,
    num_classes=81,
    num_heads=4,
    num_layers=2,
    temporal_radius=1,          # clips linked up to 1 s apart: receptive field 3 (Sec. 3.1.3)
    actor_actor=True,
    object_object=True,
    attention='graph',          # Eq. 3.3 ('dot_product': Eq. 3.10)
    adjacency='box',            # Eq. 3.1 ('feature': Eq. 3.11, 'none': w/o boxes proximity)
    negative_slope=0.2,
    dropout=0.5,
    loss='bce',
    background_column=True,
    data_preprocessor=dict(type='STAGEDataPreprocessor'))
# tools/analysis/get_flops.py: one clip of 4 actors and 25 objects (Table 3.10); the last line counts
# the nn.Linear layers only, the convention of the thesis's numbers (configs/stage/README.md).
flops_inputs = dict(num_actors=4, num_objects=25)
flops_linear_only = True
