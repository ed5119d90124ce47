# Table 6.2 "w/o PAS": pas_r2plus1d-18-pas3_k400
# trained from scratch with CE only (ops c, f, t)
_base_ = '../pas_r2plus1d-18-pas3_k400.py'

pas_training = dict(kd=False, init='scratch', ops=['c', 'f', 't'], teacher_train_mode=True)
