# Strategy (a) of Sec. 5.2.1 (Table 5.2, "body/body" without KD): trained and tested on
# body-anonymised clips.
_base_ = './r2plus1d_r18-tran_64xb24-16x1x1-45e_kinetics400-rgb.py'
train_dataloader = dict(dataset=dict(dataset=dict(data_prefix=dict(video='videos_train_body'))))
val_dataloader = dict(dataset=dict(data_prefix=dict(video='videos_val_body')))
test_dataloader = dict(dataset=dict(data_prefix=dict(video='videos_val_body')))
