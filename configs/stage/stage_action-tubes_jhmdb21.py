# Table 3.5: STAGE (4 heads x 2 layers, Sec. 3.3) on the actor features of the action-tubes detection
# backbone, jhmdb21: actors only (no objects), one label per actor: softmax cross-entropy over the
# 21 classes (22 outputs, column 0 background as the dataset's labels 1..21).
# actor_dim must equal the feature size of the extracted features (the thesis does not state it).
_base_ = [
    '../_base_/models/stage.py',
    '../_base_/datasets/stage_jhmdb21_features.py',
    '../_base_/schedules/adam_plateau_20e.py',
    '../_base_/default_runtime.py',
]
model = dict(actor_dim=1024, object_dim=None, num_classes=22, num_heads=4, num_layers=2,
             loss='ce', background_column=True)
flops_inputs = dict(num_actors=4, num_objects=0)
default_hooks = dict(checkpoint=dict(save_best='mAP/frame_mAP', rule='greater'))
# Softmax cross-entropy has no background target: training keeps the detections that match a
# ground-truth box (IoU >= 0.5) and drops the unmatched ones (label 0), which the loss rejects.
train_dataloader = dict(dataset=dict(assigner=dict(keep_unmatched=False)))
