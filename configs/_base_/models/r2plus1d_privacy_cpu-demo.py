# Tiny sizes for the CPU demo of the privacy configs (vidplugins.demo_data.privacy_videos): the
# same R(2+1)D (Tran) network with 8 base channels, one block per stage and an 8-wide stem.
# Only demo_* names, so a demo config can list this file next to the real config it shrinks.
demo_num_classes = 4
demo_recognizer = dict(
    backbone=dict(base_channels=8, stage_blocks=(1, 1, 1, 1), stem_mid_channels=8),
    cls_head=dict(in_channels=64, num_classes=demo_num_classes, dropout_ratio=0.0))
