# Table 5.3: privileged KD + relational KD with full-body-anonymised student clips.
_base_ = './privileged-kd-rkd_slowfast_r50_64xb32-4x16x1-45e_kinetics400-faces-rgb.py'
train_dataloader = dict(dataset=dict(dataset=dict(obfuscated_prefix='videos_train_body')))
val_dataloader = dict(dataset=dict(data_prefix=dict(video='videos_val_body')))
test_dataloader = dict(dataset=dict(data_prefix=dict(video='videos_val_body')))
