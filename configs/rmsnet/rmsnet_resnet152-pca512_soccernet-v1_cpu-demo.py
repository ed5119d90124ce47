# The main model shortened for a CPU demo on the generated SoccerNet-v1 set
# (python -m vidplugins.demo_data.soccernet data/soccernet_demo): same network, loss, masking,
# sampling and optimiser as Table 4.2, fewer windows per epoch and 8 epochs.
_base_ = './rmsnet_resnet152-pca512_soccernet-v1.py'
data_root = 'data/soccernet_demo'
max_epochs = 8
loader = dict(num_workers=0, persistent_workers=False)
train_dataloader = dict(
    **loader,
    sampler=dict(num_foreground=2000, seed=0),
    dataset=dict(data_root=data_root, ann_file='listgame_Train.npy'))
val_dataloader = dict(
    **loader, dataset=dict(data_root=data_root, ann_file='listgame_Valid.npy'))
test_dataloader = dict(
    **loader, dataset=dict(data_root=data_root, ann_file='listgame_Test.npy'))
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, eta_min=0, by_epoch=True, begin=1,
         end=max_epochs, convert_to_iter_based=True),
]
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(max_keep_ckpts=1))
randomness = dict(seed=0)
