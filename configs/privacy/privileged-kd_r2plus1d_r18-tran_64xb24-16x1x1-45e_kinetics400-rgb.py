# Table 5.2 row 2: self-distillation, teacher and student both on original clips (KD, Eq. 5.5;
# lambda = 12,500, T = 5). The pair of a sample is the same original video twice.
_base_ = './r2plus1d_r18-tran_64xb24-16x1x1-45e_kinetics400-rgb.py'
teacher_ckpt = 'work_dirs/r2plus1d_r18-tran_64xb24-16x1x1-45e_kinetics400-rgb/best.pth'
model = dict(
    _delete_=True,
    type='PrivilegedDistiller',
    student={{_base_.model}},
    teacher={{_base_.model}},
    teacher_ckpt=teacher_ckpt,
    distill_losses=dict(
        loss_kd=dict(type='KLDivergenceKDLoss', loss_weight=12500.0, temperature=5.0,
                     reduction='mean')))
train_dataloader = dict(dataset=dict(dataset=dict(
    type='PairedVideoDataset',
    data_prefix=dict(video='videos_train'),
    obfuscated_prefix='videos_train',
    pipeline={{_base_.paired_train_pipeline}})))
