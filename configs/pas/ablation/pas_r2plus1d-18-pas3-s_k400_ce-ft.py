# PAS training of c -> f -> s (kd=False, init=load)
_base_ = 'pas_r2plus1d-18-pas2-s_k400.py'

load_from = 'checkpoints/pas_r2plus1d-18-pas2_k400.pth'
optim_wrapper = {'optimizer': {'lr': 0.096}}
custom_hooks = [{'type': 'StopOnInvalidLossHook', 'interval': 1}]
pas_training = {'kd': False, 'init': 'load', 'ops': ['c', 'f', 's'], 'teacher_train_mode': True}
