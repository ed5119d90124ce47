# Table 6.2 "w/o PAS": pas_slowfast-4x16-r50-pas1_k400
# trained from scratch with CE only (ops c)
_base_ = '../pas_slowfast-4x16-r50-pas1_k400.py'

pas_training = dict(kd=False, init='scratch', ops=['c'], teacher_train_mode=True)
