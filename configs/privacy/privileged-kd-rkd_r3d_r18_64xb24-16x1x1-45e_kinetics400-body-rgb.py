# Table 5.3: privileged KD + relational KD with full-body-anonymised student clips.
_base_ = './privileged-kd-rkd_r3d_r18_64xb24-16x1x1-45e_kinetics400-faces-rgb.py'
train_dataloader = dict(dataset=dict(dataset=dict(obfuscated_prefix='videos_train_body')))
val_dataloader = dict(dataset=dict(data_prefix=dict(video='videos_val_body')))
test_dataloader = dict(dataset=dict(data_prefix=dict(video='videos_val_body')))
