# CPU demo of r2plus1d_r18-tran_64xb24-16x1x1-45e_kinetics400-rgb_test-faces.py: the demo teacher tested on face-obfuscated clips.
_base_ = './r2plus1d_r18-tran_64xb24-16x1x1-45e_kinetics400-rgb_cpu-demo.py'
test_dataloader = dict(dataset=dict(data_prefix=dict(video='videos_faces')))
