# SlowFast-R50 4x16 (thesis Sec. 5.3.1): 64 raw frames; slow pathway 4 frames (stride 16), fast
# pathway 32 frames (stride 2): alpha = tau / ... = 8, channel ratio 8. mmaction2's model as is.
_base_ = 'mmaction::_base_/models/slowfast_r50.py'
custom_imports = dict(imports=['vidplugins.privacy'], allow_failed_imports=False)
