# SoccerNet-v1 as frames for end-to-end training (thesis Sec. 4.2.5): whole frames (no crop) from
# the low-resolution videos at 2 fps, 224 x 398, one folder per half:
# data/soccernet/<league>/<season>/<game>/{Labels.json, 1_frames_224x398/, 2_frames_224x398/}
# (tools/data/soccernet/extract_frames.py writes them from 1_224p.mkv / 2_224p.mkv).
_base_ = ['./soccernet-v1_resnet152-pca512.py']
common = dict(modality='frames', feature_name='frames_224x398', feature_dim=None,
              frame_size=(224, 398))
train_dataloader = dict(batch_size=24, dataset=dict(**common))
val_dataloader = dict(dataset=dict(**common))
test_dataloader = dict(dataset=dict(**common))
