# Clip-length grid of Sec. 4.2.3 (the search behind "the optimal clip duration is 20 seconds"):
# the main model of Table 4.2 with T = 121 frames (60 s at 2 fps) for training, inference
# (stride T) and the offset -> frame conversion; everything else unchanged.
_base_ = './rmsnet_resnet152-pca512_soccernet-v1.py'
window = 121
model = dict(window_size=window)
train_dataloader = dict(dataset=dict(window_size=window))
val_dataloader = dict(dataset=dict(window_size=window))
test_dataloader = dict(dataset=dict(window_size=window))
val_evaluator = dict(window_size=window)
test_evaluator = dict(window_size=window)
