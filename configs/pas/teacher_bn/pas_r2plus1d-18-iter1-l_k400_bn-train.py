# PAS training of l (kd=True, init=scratch)
_base_ = ['pas_r2plus1d-18-iter1-l_k400.py', '../_base_/pas_r2plus1d-18_k400_kd-teacher.py']

model = dict(_delete_=True, type='PASDistiller', student={{_base_.model}},
             teacher={{_base_.pas_teacher}}, teacher_ckpt={{_base_.pas_teacher_ckpt}},
             student_frames=None, student_size=None, distill_loss={{_base_.pas_distill_loss}},
             teacher_train_mode=True)
train_dataloader = {'dataset': {'dataset': {'pipeline': {{_base_.pas_teacher_train_pipeline}}}}}
custom_hooks = [dict(type='StopOnInvalidLossHook', interval=1)]
pas_training = dict(kd=True, init='scratch', ops=['l'], teacher_train_mode=True)
