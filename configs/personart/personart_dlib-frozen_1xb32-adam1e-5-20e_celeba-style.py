# PersonArt with dlib's frozen 128-d face embedding (offline default), trained on CelebA photos and
# their style-transferred proxies: only the projections W_r, W_a and the attribute branches learn.
_base_ = ['../_base_/default_runtime.py', '../_base_/models/personart_dlib.py',
          '../_base_/datasets/personart_celeba-style.py',
          '../_base_/schedules/personart_adam1e-5_20e.py']
# dlib runs in the data workers' parent process: few workers, crops at dlib's own scale.
train_dataloader = dict(num_workers=2, dataset=dict(img_size=150))
val_dataloader = dict(num_workers=2, dataset=dict(img_size=150))
test_dataloader = dict(num_workers=2, dataset=dict(img_size=150))
default_hooks = dict(checkpoint=dict(save_best='personart/R@1', rule='greater'))
