# Table 5.2 row 3: self-distillation with KD + relational KD (Eq. 5.11; beta = 10).
_base_ = './privileged-kd_r2plus1d_r18-tran_64xb24-16x1x1-45e_kinetics400-rgb.py'
model = dict(distill_losses=dict(loss_rkd=dict(type='RelationalKDLoss', loss_weight=10.0)))
