# Table 6.6: pas_r2plus1d-18-pas4_k400-pre_hmdb51-split1 on split 2
_base_ = ['./pas_r2plus1d-18-pas4_k400-pre_hmdb51-split1.py']

train_dataloader = dict(dataset=dict(dataset=dict(ann_file='hmdb51_train_split_2_videos.txt')))
val_dataloader = dict(dataset=dict(ann_file='hmdb51_val_split_2_videos.txt'))
test_dataloader = dict(dataset=dict(ann_file='hmdb51_val_split_2_videos.txt'))
