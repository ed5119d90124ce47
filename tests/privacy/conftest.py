"""Fixtures of the obfuscation tests: generated videos (no real data needed) and a tiny mmdet
Mask R-CNN checkpoint with random weights."""
import json
import os.path as osp
from fractions import Fraction

import numpy as np
import pytest


def astronaut_frame(size=(160, 160)):
    """scikit-image's astronaut photo (a real face, shipped in the wheel), resized, RGB uint8."""
    import cv2
    from skimage import data
    return cv2.resize(data.astronaut(), size, interpolation=cv2.INTER_AREA)


def write_video(path, frames, fps=Fraction(25)):
    """Write RGB frames with the package's atomic writer; returns the path."""
    from vidplugins.privacy.anonymizer import VideoWriter
    h, w = frames[0].shape[:2]
    with VideoWriter(path, fps, w, h) as wr:
        for f in frames:
            wr.write(f)
    return path


def square_video(path, n=8, size=(48, 64), box=(16, 8, 40, 32), fps=Fraction(25), seed=0,
                 sidecar=True):
    """A textured video with a bright "face" square at ``box`` in every frame, and its
    ``<video>.boxes.json`` sidecar listing that box (score 0.9) per frame."""
    rng = np.random.default_rng(seed)
    h, w = size
    base = rng.integers(0, 256, (h // 4, w // 4, 3), dtype=np.uint8)
    base = np.kron(base, np.ones((4, 4, 1), np.uint8))  # 4x4 blocks survive H.264 well
    frames = []
    x1, y1, x2, y2 = box
    for i in range(n):
        f = base.copy()
        f[y1:y2, x1:x2] = (255, 255, 255)
        f[y1 + 4:y1 + 8, x1 + 4:x1 + 8] = 0  # an "eye"
        frames.append(f)
    write_video(path, frames, fps)
    if sidecar:
        with open(path + '.boxes.json', 'w') as fh:
            json.dump({'frames': [[[x1, y1, x2, y2, 0.9]] for _ in range(n)]}, fh)
    return frames


@pytest.fixture(scope='session')
def astronaut_video(tmp_path_factory):
    """A 6-frame 160x160 video of the astronaut photo shifting right by 2 px per frame."""
    folder = tmp_path_factory.mktemp('astro')
    img = astronaut_frame()
    frames = [np.roll(img, 2 * i, axis=1) for i in range(6)]
    return write_video(str(folder / 'astronaut.mp4'), frames), frames


TINY_MASK_RCNN = dict(
    type='MaskRCNN',
    data_preprocessor=dict(type='DetDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], bgr_to_rgb=True, pad_mask=True,
                           pad_size_divisor=32),
    backbone=dict(type='ResNet', depth=18, base_channels=8, num_stages=4, out_indices=(0, 1, 2, 3),
                  frozen_stages=-1, norm_cfg=dict(type='BN', requires_grad=True), norm_eval=True,
                  style='pytorch', init_cfg=None),
    neck=dict(type='FPN', in_channels=[8, 16, 32, 64], out_channels=16, num_outs=5),
    rpn_head=dict(
        type='RPNHead', in_channels=16, feat_channels=16,
        anchor_generator=dict(type='AnchorGenerator', scales=[8], ratios=[0.5, 1.0, 2.0],
                              strides=[4, 8, 16, 32, 64]),
        bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.0] * 4,
                        target_stds=[1.0, 1.0, 1.0, 1.0]),
        loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
        loss_bbox=dict(type='L1Loss', loss_weight=1.0)),
    roi_head=dict(
        type='StandardRoIHead',
        bbox_roi_extractor=dict(type='SingleRoIExtractor',
                                roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=0),
                                out_channels=16, featmap_strides=[4, 8, 16, 32]),
        bbox_head=dict(type='Shared2FCBBoxHead', in_channels=16, fc_out_channels=32,
                       roi_feat_size=7, num_classes=2,
                       bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.0] * 4,
                                       target_stds=[0.1, 0.1, 0.2, 0.2]),
                       reg_class_agnostic=False,
                       loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
                       loss_bbox=dict(type='L1Loss', loss_weight=1.0)),
        mask_roi_extractor=dict(type='SingleRoIExtractor',
                                roi_layer=dict(type='RoIAlign', output_size=14, sampling_ratio=0),
                                out_channels=16, featmap_strides=[4, 8, 16, 32]),
        mask_head=dict(type='FCNMaskHead', num_convs=1, in_channels=16, conv_out_channels=16,
                       num_classes=2,
                       loss_mask=dict(type='CrossEntropyLoss', use_mask=True, loss_weight=1.0))),
    train_cfg=None,
    test_cfg=dict(
        rpn=dict(nms_pre=100, max_per_img=50, nms=dict(type='nms', iou_threshold=0.7),
                 min_bbox_size=0),
        rcnn=dict(score_thr=0.0, nms=dict(type='nms', iou_threshold=0.5), max_per_img=10,
                  mask_thr_binary=0.5)))


@pytest.fixture(scope='session')
def tiny_maskrcnn(tmp_path_factory):
    """(config path, checkpoint path) of a randomly initialised tiny Mask R-CNN (2 classes)."""
    import torch
    from mmengine.config import Config
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    folder = tmp_path_factory.mktemp('mmdet')
    cfg = Config(dict(
        default_scope='mmdet', model=TINY_MASK_RCNN,
        test_dataloader=dict(dataset=dict(type='CocoDataset', ann_file='', data_root='',
                                          metainfo=dict(classes=('person', 'face')), pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='Resize', scale=(96, 96), keep_ratio=True),
            dict(type='PackDetInputs',
                 meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))]))))
    cfg_path = str(folder / 'tiny_mask_rcnn.py')
    cfg.dump(cfg_path)
    from mmengine.registry import DefaultScope
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(Config(dict(m=TINY_MASK_RCNN)).m)
    model.init_weights()
    ckpt = str(folder / 'tiny_mask_rcnn.pth')
    torch.save(dict(state_dict=model.state_dict(),
                    meta=dict(dataset_meta=dict(classes=('person', 'face')))), ckpt)
    assert osp.isfile(ckpt)
    return cfg_path, ckpt
