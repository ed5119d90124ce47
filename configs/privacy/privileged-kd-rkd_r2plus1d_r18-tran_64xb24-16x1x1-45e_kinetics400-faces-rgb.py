# Table 5.2 row 6: privileged KD + relational KD (Sec. 5.2.3, Eq. 5.8-5.11; beta = 10) on
# face-anonymised clips.
_base_ = './privileged-kd_r2plus1d_r18-tran_64xb24-16x1x1-45e_kinetics400-faces-rgb.py'
model = dict(distill_losses=dict(loss_rkd=dict(type='RelationalKDLoss', loss_weight=10.0)))
