"""PersonArt face detection: MTCNN (facenet-pytorch weights) on real faces; an mmdet detector
from a user's config and checkpoint (the plumbing: image coordinates, minimum size, enlargement)."""
import os.path as osp
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import torch

from vidplugins.personart.faces import build_face_detector, detect_faces, enlarge_box

from ..conftest import shared


def iou(a, b):
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def test_mtcnn_finds_real_faces():
    """MTCNN with the weights of the facenet-pytorch wheel: Grace Hopper's face (one, enlarged by
    0.4) and the hand-annotated faces of four PASCAL VOC group photos (dlib's examples)."""
    hopper_path = shared('images', 'faces', 'grace_hopper.jpg')
    xml = shared('faces_annotated', 'faces.xml')
    pytest.importorskip('facenet_pytorch', reason='facenet-pytorch is not installed '
                        '(requirements/nodeps.txt)')
    from vidplugins.personart.datasets import load_rgb
    torch.set_num_threads(1)
    det = build_face_detector('mtcnn')
    hopper = load_rgb(hopper_path)
    faces, small = detect_faces(hopper, det, min_size=100)
    assert len(faces) == 1 and small == 0 and faces[0]['score'] > 0.99
    bx = faces[0]['det_box']
    # her face sits in the middle of the 512 x 600 portrait (x 165-366, y 128-329 by MediaPipe)
    assert iou(bx, [165, 128, 366, 329]) > 0.6
    x1, y1, x2, y2 = faces[0]['box']
    assert x2 - x1 == pytest.approx(1.4 * (bx[2] - bx[0]), abs=2)
    assert y2 - y1 == pytest.approx(1.4 * (bx[3] - bx[1]), abs=2)
    assert faces[0]['crop'].shape == (y2 - y1, x2 - x1, 3)
    # the same face under the minimum size is counted as too small, not returned
    faces, small = detect_faces(hopper, det, min_size=400)
    assert faces == [] and small == 1
    # hand-annotated faces of 37-91 px: MTCNN finds most of them and nothing else
    found = total = false = 0
    for im in ET.parse(xml).getroot().iter('image'):
        rgb = load_rgb(osp.join(osp.dirname(xml), im.get('file')))
        gt = [[int(b.get('left')), int(b.get('top')),
               int(b.get('left')) + int(b.get('width')), int(b.get('top')) + int(b.get('height'))]
              for b in im.iter('box')]
        boxes, _ = det(rgb)
        total += len(gt)
        found += sum(any(iou(g, b) > 0.3 for b in boxes) for g in gt)
        false += sum(not any(iou(g, b) > 0.3 for g in gt) for b in boxes)
    assert total == 18
    assert found >= 15 and false <= 1, (found, false)


# --- an mmdet detector given by the user -------------------------------------------------------
def tiny_retinanet(num_classes=1):
    """A RetinaNet with a 4-stage ResNet of 8 base channels and one anchor per location."""
    return dict(
        type='RetinaNet',
        data_preprocessor=dict(type='DetDataPreprocessor', mean=[0, 0, 0], std=[255, 255, 255],
                               bgr_to_rgb=True, pad_size_divisor=32),
        backbone=dict(type='ResNet', depth=18, base_channels=8, num_stages=4,
                      out_indices=(1, 2, 3), norm_cfg=dict(type='BN'), norm_eval=True),
        neck=dict(type='FPN', in_channels=[16, 32, 64], out_channels=16, start_level=0,
                  add_extra_convs=False, num_outs=3),
        bbox_head=dict(
            type='RetinaHead', num_classes=num_classes, in_channels=16, stacked_convs=1,
            feat_channels=16,
            anchor_generator=dict(type='AnchorGenerator', octave_base_scale=2,
                                  scales_per_octave=1, ratios=[1.0], strides=[8, 16, 32]),
            bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.0] * 4,
                            target_stds=[1.0] * 4),
            loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25),
            loss_bbox=dict(type='L1Loss')),
        test_cfg=dict(nms_pre=1000, min_bbox_size=0, score_thr=0.05,
                      nms=dict(type='nms', iou_threshold=0.5), max_per_img=100))


@pytest.fixture(scope='module')
def mmdet_face_detector(tmp_path_factory):
    """(config, checkpoint) of a tiny RetinaNet whose head ignores the image: its last convs are
    zero but the class bias (score sigmoid(1) = 0.731 everywhere, zero box deltas), so it returns
    anchors of the resized input, which mmdet maps back to the image."""
    pytest.importorskip('mmdet', reason='mmdet is not installed (requirements/openmmlab.txt)')
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    register_all_modules(init_default_scope=False)
    folder = tmp_path_factory.mktemp('mmdet_faces')
    cfg = Config(dict(
        default_scope='mmdet', model=tiny_retinanet(),
        test_dataloader=dict(dataset=dict(
            type='CocoDataset', ann_file='', data_root='', metainfo=dict(classes=('face', )),
            pipeline=[dict(type='LoadImageFromFile'),
                      dict(type='Resize', scale=(64, 64), keep_ratio=True),
                      dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape',
                                                            'img_shape', 'scale_factor'))]))))
    cfg_path = str(folder / 'tiny_face_retinanet.py')
    cfg.dump(cfg_path)
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(cfg.model)
    model.init_weights()
    head = model.bbox_head
    with torch.no_grad():
        for conv in (head.retina_cls, head.retina_reg):
            conv.weight.zero_()
            conv.bias.zero_()
        head.retina_cls.bias.fill_(1.0)
    ckpt = str(folder / 'tiny_face_retinanet.pth')
    torch.save(dict(state_dict=model.state_dict(),
                    meta=dict(dataset_meta=dict(classes=('face', )))), ckpt)
    torch.load(ckpt, map_location='cpu', weights_only=True)  # a plain-tensor checkpoint
    return cfg_path, ckpt


def test_mmdet_face_detector_plumbing(mmdet_face_detector):
    cfg, ckpt = mmdet_face_detector
    det = build_face_detector('mmdet', config=cfg, checkpoint=ckpt, min_confidence=0.5)
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (96, 128, 3), dtype=np.uint8)
    boxes, scores = det(img)
    assert len(boxes) > 3 and np.allclose(scores, 1 / (1 + np.exp(-1.0)), atol=1e-5)
    # image coordinates: the network saw 64 x 48 (scale 1/2), the boxes span the 128 x 96 image
    assert boxes[:, 0].min() >= 0 and boxes[:, 1].min() >= 0
    assert boxes[:, 2].max() == pytest.approx(128) and boxes[:, 3].max() == pytest.approx(96)
    # an image twice as large (resized by 1/4 to the same input) gives boxes exactly twice as large
    big = np.repeat(np.repeat(img, 2, axis=0), 2, axis=1)
    boxes2, scores2 = det(big)
    np.testing.assert_array_equal(boxes2, 2 * boxes)
    np.testing.assert_array_equal(scores2, scores)
    # detect_faces: short side >= min_size, boxes enlarged by 0.4 (20 % on each side), clipped
    sides = np.minimum(boxes2[:, 2] - boxes2[:, 0], boxes2[:, 3] - boxes2[:, 1])
    min_size = float(np.median(sides))
    faces, small = detect_faces(big, det, min_size=min_size, enlarge=0.4)
    kept = boxes2[sides >= min_size]
    assert len(faces) == len(kept) > 0 and small == int((sides < min_size).sum())
    got = sorted(tuple(f['box']) for f in faces)
    want = []
    for x1, y1, x2, y2 in kept.tolist():
        w, h = x2 - x1, y2 - y1
        b = np.round([x1 - 0.2 * w, y1 - 0.2 * h, x2 + 0.2 * w, y2 + 0.2 * h]).astype(int)
        want.append((max(b[0], 0), max(b[1], 0), min(b[2], 256), min(b[3], 192)))
    assert got == sorted(want)
    assert all(tuple(enlarge_box(b, 0.4, 256, 192)) in got for b in kept)
    # score and label filters
    assert len(build_face_detector('mmdet', config=cfg, checkpoint=ckpt,
                                   min_confidence=0.9)(img)[0]) == 0
    assert len(build_face_detector('mmdet', config=cfg, checkpoint=ckpt, classes=[1],
                                   min_confidence=0.5)(img)[0]) == 0
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        build_face_detector('mmdet', config=cfg, checkpoint='missing.pth')
