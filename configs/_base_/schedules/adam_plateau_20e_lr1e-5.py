# Sec. 3.2.2: as adam_plateau_20e.py with lr 1e-5 (R101-I3D-NL and SlowFast-NL features).
_base_ = ['./adam_plateau_20e.py']
optim_wrapper = dict(optimizer=dict(lr=1e-5))
