# PAS base network B (thesis Sec. 6.2.2): SlowFast-4x16-R50 of Feichtenhofer et al., mmaction2's
# model as is (Table 6.10 with all reduction factors 1): the pipeline samples the fast path's
# 32 frames at stride 2 from a 64-frame raw clip, the slow path keeps one in resample_rate = 8 of
# them (4 frames, stride 16); dropout 0.5 before the classifier. 36.6 GFLOPs per 256 x 256 view.
_base_ = 'mmaction::_base_/models/slowfast_r50.py'
custom_imports = dict(imports=['vidplugins.pas'], allow_failed_imports=False)
