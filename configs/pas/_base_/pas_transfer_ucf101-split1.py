# Table 6.6: ucf101 split 1 (mmaction2's layout) of every transfer config
# (their second _base_; val lists test too)
pas_num_classes = 101
pas_train_data = dict(data_root='data/ucf101', data_prefix=dict(video='videos'),
                      ann_file='ucf101_train_split_1_videos.txt')
pas_val_data = dict(data_root='data/ucf101', data_prefix=dict(video='videos'),
                    ann_file='ucf101_val_split_1_videos.txt')
