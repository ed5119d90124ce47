"""Frame-mAP: hand-computed APs, agreement with mmaction2's ava_eval, the official csv."""
import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData

from mmaction.evaluation.functional.ava_utils import ava_eval
from mmaction.structures import ActionDataSample
from tests.conftest import shared
from vidplugins.stage.metric import (FrameMAPMetric, STAGEAVAMetric, ava_frame_map,
                                     per_class_ap)

LABEL_MAP = 'item {\n  name: "stand"\n  id: 12\n}\nitem {\n  name: "talk to"\n  id: 79\n}\n'


def test_per_class_ap_by_hand():
    # class 12: two ground-truth boxes in one frame; detections ranked TP (0.9), FP (0.8),
    # TP (0.7): precision 1, 1/2, 2/3 at recall 1/2, 1/2, 1 -> AP = 1/2 * 1 + 1/2 * 2/3 = 5/6.
    # class 79: one ground truth, no detection -> AP 0 (official evaluator; ava_eval drops it).
    a, b = [0, 0, .5, .5], [.5, .5, 1, 1]
    gt = ({'v,0902': [a, b, a]}, {'v,0902': [12, 12, 79]})
    det = ({'v,0902': [a, [.1, .6, .2, .9], b]}, {'v,0902': [12, 12, 12]},
           {'v,0902': [.9, .8, .7]})
    ap = per_class_ap(gt, det, [12, 79, 80])
    assert ap[12] == pytest.approx(5 / 6)
    assert ap[79] == 0.0
    assert np.isnan(ap[80])                      # no ground truth: not in the mean
    # a duplicate detection of a matched box is a false positive
    det2 = ({'v,0902': [a, a]}, {'v,0902': [12, 12]}, {'v,0902': [.9, .8]})
    assert per_class_ap(gt, det2, [12])[12] == pytest.approx(0.5)
    # excluded frames are not evaluated
    assert np.isnan(per_class_ap(gt, det, [12], excluded={'v,0902'})[12])


def test_agrees_with_mmaction2_ava_eval_on_the_real_excerpt(tmp_path):
    gt_file = shared('ava', 'ava_val_v2.2_excerpt_1j20qq1JyX4_0902-0960.csv')
    labels = shared('ava', 'ava_action_list_v2.1_for_activitynet_2018.pbtxt')
    rng = np.random.default_rng(0)
    rows = []
    with open(gt_file) as f:
        for line in f:
            v, ts, x1, y1, x2, y2, action, _ = line.strip().split(',')
            box = np.array([x1, y1, x2, y2], float) + rng.normal(0, 0.03, 4)
            rows.append(f'{v},{ts},{box[0]:.3f},{box[1]:.3f},{box[2]:.3f},{box[3]:.3f},'
                        f'{action},{rng.random():.4f}')
            rows.append(f'{v},{ts},{x1},{y1},{x2},{y2},12,{rng.random() * 0.5:.4f}')
    det = tmp_path / 'det.csv'
    det.write_text('\n'.join(rows) + '\n')
    summary, ap = ava_frame_map(str(det), gt_file, labels)
    ref = ava_eval(str(det), 'mAP', labels, gt_file, None, verbose=False)
    # every class with ground truth has detections here, so both protocols agree
    assert summary['frame_mAP'] == pytest.approx(ref['overall'])
    assert summary['pose'] == pytest.approx(ref['person_movement'])
    assert summary['person_object'] == pytest.approx(ref['object_manipulation'])
    assert summary['person_person'] == pytest.approx(ref['person_interaction'])
    assert set(c for c, v in ap.items() if not np.isnan(v)) == {6, 11, 12, 14, 17, 67, 74, 79, 80}


def _sample(vid, ts, boxes, scores):
    ds = ActionDataSample()
    ds.set_metainfo(dict(video_id=vid, timestamp=ts, img_shape=(1, 1)))
    pred = InstanceData()
    pred.bboxes = torch.tensor(boxes, dtype=torch.float32)
    pred.scores = torch.tensor(scores, dtype=torch.float32)
    ds.pred_instances = pred
    return ds.to_dict()


def test_stage_ava_metric_writes_the_official_csv(tmp_path):
    (tmp_path / 'gt.csv').write_text('v,0902,0.000,0.000,0.500,0.500,12,0\n'
                                     'v,0902,0.500,0.500,1.000,1.000,79,1\n'
                                     'v,0903,0.000,0.000,0.500,0.500,12,0\n')
    (tmp_path / 'excluded.csv').write_text('v,0903\n')
    (tmp_path / 'labels.pbtxt').write_text(LABEL_MAP)
    out = tmp_path / 'out' / 'results.csv'
    metric = STAGEAVAMetric(ann_file=str(tmp_path / 'gt.csv'),
                            exclude_file=str(tmp_path / 'excluded.csv'),
                            label_file=str(tmp_path / 'labels.pbtxt'), out_file=str(out),
                            classwise=True)
    scores = np.zeros((2, 81), np.float32)
    scores[0, 12], scores[1, 79], scores[1, 12] = 0.9, 0.8, 0.3
    metric.process({}, [_sample('v', 902, [[0, 0, .5, .5], [.5, .5, 1, 1]], scores),
                        _sample('v', 903, [[0, 0, .5, .5]], scores[:1])])
    res = metric.evaluate(2)
    # 12: TP 0.9 then FP 0.3 -> AP 1; 79: TP -> 1; frame 903 excluded
    assert res == {'mAP/frame_mAP': 1.0, 'mAP/pose': 1.0, 'mAP/person_person': 1.0,
                   'mAP/AP_12': 1.0, 'mAP/AP_79': 1.0}
    lines = out.read_text().splitlines()
    assert lines[0] == 'v,0902,0.000,0.000,0.500,0.500,12,0.9000'
    assert len(lines) == 4 and not list((tmp_path / 'out').glob('.*tmp'))


def test_frame_map_metric_single_label(tmp_path):
    (tmp_path / 'gt.csv').write_text('v,0001,0.0,0.0,0.5,0.5,1,0\nv,0002,0.0,0.0,0.5,0.5,2,0\n')
    (tmp_path / 'labels.txt').write_text('1: brush_hair\n2: catch\n')
    metric = FrameMAPMetric(ann_file=str(tmp_path / 'gt.csv'),
                            label_file=str(tmp_path / 'labels.txt'), classwise=True)
    # softmax scores over background + 2 classes; frame 2 is confused (class 1 ranks first)
    metric.process({}, [_sample('v', 1, [[0, 0, .5, .5]], [[.1, .8, .1]]),
                        _sample('v', 2, [[0, 0, .5, .5]], [[.1, .6, .3]])])
    res = metric.evaluate(2)
    # class 1: TP .8, FP .6 -> AP 1; class 2: FP .1, TP .3 ranks first -> AP 1
    assert res == {'mAP/frame_mAP': 1.0, 'mAP/AP_1': 1.0, 'mAP/AP_2': 1.0}
    metric.process({}, [_sample('v', 1, [[0, 0, .5, .5]], [[.1, .2, .7]]),
                        _sample('v', 2, [[0, 0, .5, .5]], [[.1, .6, .3]])])
    res = metric.evaluate(2)
    # class 1: FP .6 ranks above TP .2 -> AP 1/2; class 2: FP .7 above TP .3 -> 1/2
    assert res['mAP/frame_mAP'] == pytest.approx(0.5)
