# CycleGAN baseline of Table A.1 "Monet": the same generators, discriminators, data,
# schedule and identity weight (original CycleGAN: 0.5 x 10) as Art2Real, without the
# contextual loss and the masks.
_base_ = [
    '../_base_/models/art2real_cyclegan.py',
    '../_base_/datasets/art2real_unpaired_256x256.py',
    '../_base_/schedules/adam-2e-4_100e-constant-200e-linear_art2real.py',
    '../_base_/art2real_runtime.py',
]
data_root = 'data/art2real/monet2photo'
model = dict(contextual_loss=None)
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = dict(dataset=dict(data_root=data_root))
