# PAS training of c -> f -> s (kd=True, init=scratch, teacher_train_mode=True):
# pas_r2plus1d-18-pas3-s_k400_kd-ft with these changes
_base_ = './pas_r2plus1d-18-pas3-s_k400_kd-ft.py'

model = dict(init_from=None)
optim_wrapper = dict(optimizer=dict(lr=0.96))
pas_training = dict(init='scratch')
