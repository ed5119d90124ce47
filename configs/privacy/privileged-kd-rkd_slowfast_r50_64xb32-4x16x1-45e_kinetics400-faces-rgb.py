# Table 5.3: privileged KD + relational KD (Eq. 5.11; lambda = 12,500, beta = 10, T = 5) with
# face-anonymised student clips; tested on face-anonymised videos, student only.
_base_ = './slowfast_r50_64xb32-4x16x1-45e_kinetics400-rgb.py'
teacher_ckpt = 'work_dirs/slowfast_r50_64xb32-4x16x1-45e_kinetics400-rgb/best.pth'
model = dict(
    _delete_=True,
    type='PrivilegedDistiller',
    student={{_base_.model}},
    teacher={{_base_.model}},
    teacher_ckpt=teacher_ckpt,
    distill_losses=dict(
        loss_kd=dict(type='KLDivergenceKDLoss', loss_weight=12500.0, temperature=5.0,
                     reduction='mean'),
        loss_rkd=dict(type='RelationalKDLoss', loss_weight=10.0)))
train_dataloader = dict(dataset=dict(dataset=dict(
    type='PairedVideoDataset',
    data_prefix=dict(video='videos_train'),
    obfuscated_prefix='videos_train_faces',
    pipeline={{_base_.paired_train_pipeline}})))
val_dataloader = dict(dataset=dict(data_prefix=dict(video='videos_val_faces')))
test_dataloader = dict(dataset=dict(data_prefix=dict(video='videos_val_faces')))
