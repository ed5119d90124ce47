"""Detectors: output validation, the registry, offline models on a real photo, mmdet wrapper."""
import json
import pickle

import numpy as np
import pytest

from tests.privacy.conftest import astronaut_frame
from vidplugins.privacy.detectors import (PRIVACY_DETECTORS, BoxFileDetector, Detections,
                                          MalformedDetections, box_iou, build_detector,
                                          masks_from_probability, merge_overlapping)


def test_validated_rejects_malformed_output_and_clips():
    d = Detections(np.array([[-5, 2, 50, 8]]), np.array([0.7])).validated((10, 20, 3))
    np.testing.assert_array_equal(d.boxes, [[0, 2, 20, 8]])
    bad = [Detections(np.zeros((2, 3)), np.zeros(2)),                       # not (N, 4)
           Detections(np.zeros((2, 4)), np.zeros(3)),                       # scores mismatch
           Detections(np.array([[0, 0, np.nan, 1]]), np.ones(1)),           # NaN
           Detections(np.array([[0, 0, 1, 1]]), np.array([1.5])),           # score > 1
           Detections(np.array([[5, 0, 1, 1]]), np.ones(1)),                # x2 < x1
           Detections(np.array([[0, 0, 1, 1]]), np.ones(1), np.zeros((1, 4, 4), bool))]  # masks
    for det in bad:
        with pytest.raises(MalformedDetections):
            det.validated((10, 20, 3))
    assert len(Detections.empty()) == 0


def test_iou_and_merge_by_hand():
    # [0,0,2,2] and [1,1,3,3]: intersection 1, union 4 + 4 - 1 = 7
    assert box_iou([[0, 0, 2, 2]], [[1, 1, 3, 3]])[0, 0] == pytest.approx(1 / 7)
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60]], np.float32)
    b, s = merge_overlapping(boxes, np.array([0.6, 0.9, 0.7], np.float32), iou=0.3)
    # the first two overlap (IoU 81/119 > 0.3): merged to their union with the larger score
    np.testing.assert_array_equal(b, [[0, 0, 11, 11], [50, 50, 60, 60]])
    np.testing.assert_allclose(s, [0.9, 0.7])


def test_masks_from_probability_components():
    p = np.zeros((20, 30), np.float32)
    p[2:6, 2:8] = 0.9
    p[10:15, 20:25] = 0.4
    p[12, 22] = 0.45
    p[18, 0] = 0.35  # one pixel: below min_area
    d = masks_from_probability(p, 0.3, min_area=2 / 600)
    assert len(d) == 2
    np.testing.assert_allclose(sorted(d.scores), [0.45, 0.9])
    np.testing.assert_array_equal(d.boxes[np.argmax(d.scores)], [2, 2, 8, 6])
    assert d.masks.shape == (2, 20, 30) and d.masks.sum() == 24 + 25
    assert len(masks_from_probability(np.zeros((4, 4)), 0.3)) == 0


def test_box_file_detector(tmp_path):
    video = str(tmp_path / 'v.mp4')
    with open(video + '.boxes.json', 'w') as f:
        json.dump({'frames': [[[1, 2, 3, 4, 0.9]], [], [[0, 0, 2, 2, 0.5], [1, 1, 3, 3, 1.0]]]}, f)
    det = build_detector(dict(type='BoxFileDetector'))
    frame = np.zeros((8, 8, 3), np.uint8)
    with pytest.raises(RuntimeError, match='reset'):
        det(frame)
    det.reset(video)
    assert det(frame).boxes.tolist() == [[1, 2, 3, 4]] and len(det(frame)) == 0
    np.testing.assert_allclose(det(frame).scores, [0.5, 1.0])
    with pytest.raises(MalformedDetections, match='no entry for frame 3'):
        det(frame)
    det.seek(0)
    assert len(det(frame)) == 1
    with pytest.raises(FileNotFoundError, match='other.mp4.boxes.json'):
        det.reset(str(tmp_path / 'other.mp4'))


def test_registry_lists_the_offline_defaults():
    for name in ('MediaPipeFaceDetector', 'CascadeFaceDetector', 'SelfieSegmentationBody',
                 'HOGPeopleDetector', 'MMDetDetector', 'BoxFileDetector', 'UnionDetector'):
        assert PRIVACY_DETECTORS.get(name) is not None, name
    with pytest.raises(FileNotFoundError, match='nope.xml'):
        build_detector(dict(type='CascadeFaceDetector', cascades=['nope.xml']))


def test_offline_models_find_the_astronaut():
    """scikit-image's astronaut photo (a real face): mediapipe and the cascade both find the face
    near (x, y) = (70, 38) of a 160 x 160 resize; the selfie segmenter finds her body."""
    img = astronaut_frame()
    mp_face = build_detector(dict(type='MediaPipeFaceDetector'))
    d = mp_face(img).validated(img.shape)
    assert len(d) == 1 and d.scores[0] > 0.5
    cx, cy = (d.boxes[0, :2] + d.boxes[0, 2:]) / 2
    assert 55 < cx < 90 and 20 < cy < 55
    casc = build_detector(dict(type='CascadeFaceDetector', verify='landmarks', min_size=16))
    c = casc(img).validated(img.shape)
    assert len(c) >= 1 and box_iou(c.boxes, d.boxes).max() > 0.3
    body = build_detector(dict(type='SelfieSegmentationBody'))(img).validated(img.shape)
    assert len(body) >= 1 and body.masks.any(axis=0)[int(cy), int(cx)]
    # nothing on a flat grey frame
    grey = np.full_like(img, 128)
    assert len(mp_face(grey)) == 0 and len(casc(grey)) == 0
    # models are rebuilt after pickling (for worker processes)
    clone = pickle.loads(pickle.dumps(mp_face))
    assert clone._models is None and len(clone(img)) == 1


def test_union_detector(tmp_path):
    video = str(tmp_path / 'v.mp4')
    with open(video + '.boxes.json', 'w') as f:
        json.dump({'frames': [[[1, 1, 3, 3, 0.9]]]}, f)
    u = build_detector(dict(type='UnionDetector', detectors=[
        dict(type='BoxFileDetector'), dict(type='CascadeFaceDetector')]))
    u.reset(video)
    out = u(np.full((40, 40, 3), 128, np.uint8))
    assert out.boxes.tolist() == [[1, 1, 3, 3]]


def test_mmdet_wrapper_with_a_saved_random_checkpoint(tiny_maskrcnn):
    cfg, ckpt = tiny_maskrcnn
    det = build_detector(dict(type='MMDetDetector', config=cfg, checkpoint=ckpt, classes=[0],
                              min_score=0.0))
    img = astronaut_frame((80, 64))
    out = det(img).validated(img.shape)
    assert out.masks is not None and out.masks.shape[1:] == (64, 80)
    assert len(out) >= 1 and det.gives_masks
    # a class filter nothing matches returns an empty, valid result
    none = build_detector(dict(type='MMDetDetector', config=cfg, checkpoint=ckpt, classes=[7]))
    assert len(none(img).validated(img.shape)) == 0
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        build_detector(dict(type='MMDetDetector', config=cfg, checkpoint='missing.pth'))
