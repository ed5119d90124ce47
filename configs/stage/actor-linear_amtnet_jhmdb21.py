# Table 3.5 "*" row: linear classifier on the amtnet actor features, jhmdb21, softmax cross-entropy.
_base_ = ['./stage_amtnet_jhmdb21.py']
model = dict(_delete_=True, type='ActorLinearClassifier', actor_dim=1024, num_classes=22,
             loss='ce', background_column=True,
             data_preprocessor=dict(type='STAGEDataPreprocessor'))
