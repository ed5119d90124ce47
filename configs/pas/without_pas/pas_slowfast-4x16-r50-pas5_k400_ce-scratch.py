# Table 6.2 "w/o PAS": pas_slowfast-4x16-r50-pas5_k400
# trained from scratch with CE only (ops c, s, t, s, f)
_base_ = '../pas_slowfast-4x16-r50-pas5_k400.py'

pas_training = dict(kd=False, init='scratch', ops=['c', 's', 't', 's', 'f'],
                    teacher_train_mode=True)
