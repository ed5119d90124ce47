# Table 6.6: pas_r2plus1d-18-pas5_k400 (Kinetics-400 weights) fine-tuned on hmdb51 split 1 (lr / 10)
_base_ = '../pas_r2plus1d-18-pas5_k400.py'

model = {'cls_head': {'num_classes': 51}}
train_dataloader = {'dataset': {'dataset': {'data_root': 'data/hmdb51',
                         'data_prefix': {'video': 'videos'},
                         'ann_file': 'hmdb51_train_split_1_videos.txt'}}}
val_dataloader = {'dataset': {'data_root': 'data/hmdb51',
             'data_prefix': {'video': 'videos'},
             'ann_file': 'hmdb51_val_split_1_videos.txt'}}
test_dataloader = {'dataset': {'data_root': 'data/hmdb51',
             'data_prefix': {'video': 'videos'},
             'ann_file': 'hmdb51_val_split_1_videos.txt'}}
optim_wrapper = {'optimizer': {'lr': 0.096}}
load_from = 'checkpoints/pas_r2plus1d-18-pas5_k400.pth'
