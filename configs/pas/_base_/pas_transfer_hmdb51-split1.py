# Table 6.6: hmdb51 split 1 (mmaction2's layout) of every transfer config
# (their second _base_; val lists test too)
pas_num_classes = 51
pas_train_data = dict(data_root='data/hmdb51', data_prefix=dict(video='videos'),
                      ann_file='hmdb51_train_split_1_videos.txt')
pas_val_data = dict(data_root='data/hmdb51', data_prefix=dict(video='videos'),
                    ann_file='hmdb51_val_split_1_videos.txt')
