# PAS training of c (kd=True, init=scratch, teacher_train_mode=False):
# pas_r2plus1d-18-iter1-c_k400_bn-train with these changes
_base_ = './pas_r2plus1d-18-iter1-c_k400_bn-train.py'

model = dict(teacher_train_mode=False)
pas_training = dict(teacher_train_mode=False)
