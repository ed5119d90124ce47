# Table 3.5 "*" row: linear classifier on the amtnet actor features, ucf101-24, softmax cross-entropy.
_base_ = ['./stage_amtnet_ucf101-24.py']
model = dict(_delete_=True, type='ActorLinearClassifier', actor_dim=1024, num_classes=25,
             loss='ce', background_column=True,
             data_preprocessor=dict(type='STAGEDataPreprocessor'))
