# Table 5.2 row 8: privileged KD + relational KD on full-body-anonymised clips.
_base_ = './privileged-kd-rkd_r2plus1d_r18-tran_64xb24-16x1x1-45e_kinetics400-faces-rgb.py'
train_dataloader = dict(dataset=dict(dataset=dict(obfuscated_prefix='videos_train_body')))
val_dataloader = dict(dataset=dict(data_prefix=dict(video='videos_val_body')))
test_dataloader = dict(dataset=dict(data_prefix=dict(video='videos_val_body')))
