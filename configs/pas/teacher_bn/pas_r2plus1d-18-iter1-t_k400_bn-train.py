# PAS training of t (kd=True, init=load)
_base_ = ['pas_r2plus1d-18-iter1-t_k400.py', '../_base_/pas_r2plus1d-18_k400_kd-teacher.py']

model = dict(_delete_=True, type='PASDistiller', student={{_base_.model}},
             teacher={{_base_.pas_teacher}}, teacher_ckpt={{_base_.pas_teacher_ckpt}},
             student_frames=[0, 1, 2, 3, 4, 5, 6, 7], student_size=None,
             distill_loss={{_base_.pas_distill_loss}}, teacher_train_mode=True,
             init_from=dict(checkpoint='checkpoints/pas_r2plus1d-18_k400_base.pth', prefix='',
                            mode='load'))
train_dataloader = {'dataset': {'dataset': {'pipeline': {{_base_.pas_teacher_train_pipeline}}}}}
optim_wrapper = dict(optimizer=dict(lr=0.096))
custom_hooks = [dict(type='StopOnInvalidLossHook', interval=1)]
pas_training = dict(kd=True, init='load', ops=['t'], teacher_train_mode=True)
