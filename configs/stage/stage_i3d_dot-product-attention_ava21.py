# Table 3.8 'w/ Transformer attention': Eq. 3.10 in place of Eq. 3.3
# (three projections Q, K, V per head).
_base_ = ['./stage_i3d_ava21.py']
model = dict(attention='dot_product')
