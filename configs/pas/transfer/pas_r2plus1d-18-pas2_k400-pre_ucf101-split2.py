# Table 6.6: pas_r2plus1d-18-pas2_k400-pre_ucf101-split1 on split 2
_base_ = ['./pas_r2plus1d-18-pas2_k400-pre_ucf101-split1.py']

train_dataloader = dict(dataset=dict(dataset=dict(ann_file='ucf101_train_split_2_videos.txt')))
val_dataloader = dict(dataset=dict(ann_file='ucf101_val_split_2_videos.txt'))
test_dataloader = dict(dataset=dict(ann_file='ucf101_val_split_2_videos.txt'))
