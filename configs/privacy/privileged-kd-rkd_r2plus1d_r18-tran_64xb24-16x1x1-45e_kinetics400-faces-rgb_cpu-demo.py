# CPU demo of privileged-kd-rkd_r2plus1d_r18-tran_64xb24-16x1x1-45e_kinetics400-faces-rgb.py: the
# KD demo plus the relational KD loss (beta = 10, as the thesis).
_base_ = './privileged-kd_r2plus1d_r18-tran_64xb24-16x1x1-45e_kinetics400-faces-rgb_cpu-demo.py'
model = dict(distill_losses=dict(loss_rkd=dict(type='RelationalKDLoss', loss_weight=10.0)))
