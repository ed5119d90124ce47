# Table 6.6: pas_slowfast-4x16-r50-pas2_k400 (Kinetics-400 weights) fine-tuned on ucf101 split 1 (lr / 10)
_base_ = '../pas_slowfast-4x16-r50-pas2_k400.py'

model = {'cls_head': {'num_classes': 101}}
train_dataloader = {'dataset': {'dataset': {'data_root': 'data/ucf101',
                         'data_prefix': {'video': 'videos'},
                         'ann_file': 'ucf101_train_split_1_videos.txt'}}}
val_dataloader = {'dataset': {'data_root': 'data/ucf101',
             'data_prefix': {'video': 'videos'},
             'ann_file': 'ucf101_val_split_1_videos.txt'}}
test_dataloader = {'dataset': {'data_root': 'data/ucf101',
             'data_prefix': {'video': 'videos'},
             'ann_file': 'ucf101_val_split_1_videos.txt'}}
optim_wrapper = {'optimizer': {'lr': 0.16}}
load_from = 'checkpoints/pas_slowfast-4x16-r50-pas2_k400.pth'
