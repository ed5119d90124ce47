"""Recall / cost measures of recall.py by hand, ground-truth readers, and the auditor's gates."""
import json

import numpy as np
import pytest

from vidplugins.privacy.recall import (covered_fraction, evaluate_regions, load_face_boxes,
                                       outside_ratio, place_in_canvas)


def test_load_dlib_xml_and_coco_wholebody(tmp_path):
    xml = tmp_path / 'faces.xml'
    xml.write_text("<dataset><images><image file='a.jpg'><box top='10' left='20' width='30' "
                   "height='40'/><box top='0' left='0' width='5' height='5' ignore='1'/></image>"
                   "<image file='b.jpg'/></images></dataset>")
    gt = load_face_boxes(str(xml))
    np.testing.assert_array_equal(gt['a.jpg'], [[20, 10, 50, 50]])
    assert gt['b.jpg'].shape == (0, 4)
    coco = tmp_path / 'wb.json'
    coco.write_text(json.dumps({
        'images': [{'id': 1, 'file_name': 'x.jpg'}, {'id': 2, 'file_name': 'y.jpg'}],
        'annotations': [{'image_id': 1, 'face_box': [1, 2, 3, 4], 'face_valid': True},
                        {'image_id': 1, 'face_box': [0, 0, 0, 0], 'face_valid': False},
                        {'image_id': 2, 'face_box': [5, 5, 10, 10]}]}))
    gt = load_face_boxes(str(coco))
    np.testing.assert_array_equal(gt['x.jpg'], [[1, 2, 4, 6]])
    np.testing.assert_array_equal(gt['y.jpg'], [[5, 5, 15, 15]])
    xml.write_text("<dataset><images><image file='a.jpg'><box top='x'/></image></images>"
                   "</dataset>")
    with pytest.raises(ValueError, match="faces.xml: image 'a.jpg'"):
        load_face_boxes(str(xml))
    with pytest.raises(FileNotFoundError, match='nope.xml'):
        load_face_boxes(str(tmp_path / 'nope.xml'))


def test_recall_and_outside_ratio_by_hand():
    region = np.zeros((100, 100), bool)
    region[0:20, 0:20] = True          # covers face 1 (10 x 10) whole, and 300 px around it
    region[50:55, 50:60] = True        # half of face 2 (10 x 10)
    faces = np.array([[5, 5, 15, 15], [50, 50, 60, 60], [80, 80, 90, 90]], np.float32)
    np.testing.assert_allclose(covered_fraction(region, faces), [1.0, 0.5, 0.0])
    # outside the faces: 400 - 100 = 300 px; faces' union: 300 px
    assert outside_ratio(region, faces) == pytest.approx(1.0)
    rep = evaluate_regions([region], [faces], min_face=10)
    assert (rep['faces'], rep['covered'], rep['recall']) == (3, 1, pytest.approx(1 / 3))
    assert [m[1] for m in rep['missed']] == [[50, 50, 60, 60], [80, 80, 90, 90]]
    # faces under min_face are not counted; a whole frame covers everything and is counted
    rep = evaluate_regions([region, region], [faces, faces], whole=[False, True], min_face=11)
    assert rep['faces'] == 0 and rep['whole_frames'] == 1 and rep['whole_share'] == 0.5


def test_place_in_canvas():
    img = np.full((4, 6, 3), 255, np.uint8)
    canvas, boxes = place_in_canvas(img, [[1, 1, 3, 3]], (20, 10))
    assert canvas.shape == (10, 20, 3)
    assert canvas[3:7, 7:13].min() == 255 and canvas.sum() == 255 * 72 + 114 * 3 * (200 - 24)
    np.testing.assert_array_equal(boxes, [[8, 4, 10, 6]])
    with pytest.raises(ValueError, match='does not fit'):
        place_in_canvas(img, [], (5, 5))


def test_disagreement_frames_are_reported(tmp_path):
    """A frame on which the two families disagree beyond disagree_thr is listed in the video's
    record (nothing about a face one family missed is silent)."""
    from tests.privacy.conftest import square_video
    from vidplugins.privacy.anonymizer import FrameAnonymizer, anonymize_video
    from vidplugins.privacy.detectors import Detections, FamilyUnionDetector
    src = str(tmp_path / 'a.mp4')
    square_video(src, n=4)

    class PerFrame:
        def __init__(self, per):
            self.per, self.i = per, 0

        def reset(self, path=None):
            self.i = 0

        def __call__(self, frame):
            b = self.per[min(self.i, len(self.per) - 1)]
            self.i += 1
            return Detections(np.asarray(b, np.float32).reshape(-1, 4), np.ones(len(b)))
    face = [[16, 8, 40, 32]]
    a = PerFrame([face, face, face, face])
    b = PerFrame([face, [], face, []])   # family b misses the face in frames 1 and 3
    anon = FrameAnonymizer(FamilyUnionDetector([a, b], [(0.3, 0.5), (0.3, 0.5)]),
                           method='solid', enlarge=0.0, disagree_thr=0.5)
    rec = anonymize_video(src, str(tmp_path / 'o.mp4'), anon, 0)
    assert rec['disagreement_frames'] == [1, 3] and rec['instances'] == 4


def test_place_all_in_canvas_rows():
    from vidplugins.privacy.recall import place_all_in_canvas
    a, b = np.full((4, 6, 3), 200, np.uint8), np.full((5, 5, 3), 250, np.uint8)
    canvas, boxes = place_all_in_canvas([(a, [[0, 0, 1, 1]]), (b, [[1, 1, 2, 2]])], (16, 20),
                                        gap=2)
    # a at (2, 2); b does not fit after it (2 + 6 + 2 + 5 > 16 - 2): next row at y = 2 + 4 + 2
    np.testing.assert_array_equal(boxes, [[2, 2, 3, 3], [3, 9, 4, 10]])
    assert canvas[2:6, 2:8].min() == 200 and canvas[8:13, 2:7].min() == 250
    with pytest.raises(ValueError, match='do not fit'):
        place_all_in_canvas([(a, []), (b, []), (b, [])], (12, 12), gap=2)
