# Table 5.1 row 3: the model trained on originals, tested on full-body-anonymised validation
# videos.
_base_ = './r2plus1d_r18-tran_64xb24-16x1x1-45e_kinetics400-rgb.py'
test_dataloader = dict(dataset=dict(data_prefix=dict(video='videos_val_body')))
