# Table 3.7 'STO (STAGE)': STAGE with the non-local (dot-product)
# attention in place of Eq. 3.3 and without temporal connections.
_base_ = ['./stage_i3d_ava21.py']
model = dict(attention='dot_product', temporal_radius=0)
