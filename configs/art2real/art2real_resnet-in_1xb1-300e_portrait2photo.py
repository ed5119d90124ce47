# Art2Real, Table A.1 "portraits (several artists) vs CelebA people": portrait paintings -> photos, 256x256, 300 epochs
# (100 constant + 200 linear decay), batch 1, early stopping on FID (patience 30).
# Data: data/art2real/portrait2photo/{trainA,testA} paintings, {trainB,testB} photos,
# masksA/<stem>.png the paintings' label maps; banks built from trainB with
# tools/art2real/build_banks.py into data/art2real/banks/people.
_base_ = [
    '../_base_/models/art2real_cyclegan.py',
    '../_base_/datasets/art2real_unpaired-masks_256x256.py',
    '../_base_/schedules/adam-2e-4_100e-constant-200e-linear_art2real.py',
    '../_base_/art2real_runtime.py',
]
data_root = 'data/art2real/portrait2photo'
model = dict(contextual_loss=dict(banks='data/art2real/banks/people'))
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = dict(dataset=dict(data_root=data_root))

# Masks recomputed on G(x) every 20 epochs after epoch 40 with the segmenter that built the
# banks (here an mmdet instance-segmentation model: give its config and checkpoint).
custom_hooks = [
    dict(type='EarlyStoppingHook', monitor='FID-painting2photo/fid', rule='less', patience=30),
    dict(type='Art2RealMaskUpdateHook', start_epoch=40, interval=20,
         segmenter=dict(type='mmdet', config='data/art2real/segmenter/config.py',
                        checkpoint='data/art2real/segmenter/model.pth')),
]
