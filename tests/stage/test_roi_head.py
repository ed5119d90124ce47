"""STAGE as an RoI head of mmaction2's FastRCNN AVA detector, trained end to end (roi_head.py).

The model is the shipped SlowOnly e2e config with a tiny backbone (ResNet3dSlowOnly depth 18,
8 base channels: 64-d RoI features) on 4 x 64 x 64 clips, so a training step takes well under a
second on CPU.
"""
import copy
import os.path as osp
import pickle

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.optim import OptimWrapper
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData

import vidplugins  # noqa: F401
from mmaction.registry import MODELS, TRANSFORMS
from mmaction.structures import ActionDataSample
from vidplugins.stage.roi_head import (LoadAVAObjectBoxes, STAGERoIHead, boxes_to_input_frame,
                                       clip_indices)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, 'configs', 'stage',
                  'stage-e2e_slowonly-k400-pre-r50_8xb16-4x16x1-20e_ava21-rgb.py')
C = 64  # RoI channels of the tiny backbone: 8 base channels x 8 (4th stage of a depth-18 ResNet)
SIZE = 64


def tiny_model_cfg():
    cfg = Config.fromfile(CONFIG)
    cfg.model.backbone.update(depth=18, base_channels=8)
    cfg.model.roi_head.update(in_channels=C)
    cfg.model.roi_head.bbox_roi_extractor.update(output_size=2)
    cfg.model.roi_head.bbox_head.update(in_channels=C + 4)
    cfg.model.pop('init_cfg')
    return cfg.model


@pytest.fixture(scope='module')
def model_cfg():
    return tiny_model_cfg()


def build(model_cfg, **roi_head):
    init_default_scope('mmaction')
    cfg = copy.deepcopy(model_cfg)
    cfg.roi_head.update(roi_head)
    torch.manual_seed(0)
    return MODELS.build(cfg)


def sample(video_id, ts, boxes_px, labels, objects=None):
    ds = ActionDataSample()
    ds.set_metainfo(dict(img_shape=(SIZE, SIZE), video_id=video_id, timestamp=ts,
                         img_key=f'{video_id},{ts:04d}'))
    if objects is not None:
        ds.set_metainfo(dict(object_bboxes=np.asarray(objects, np.float32)))
    boxes = torch.tensor(boxes_px, dtype=torch.float32)
    gt = InstanceData()
    gt.bboxes = boxes
    multi = torch.zeros(len(boxes), 81)
    for i, lab in enumerate(labels):
        multi[i, lab] = 1
    gt.labels = multi
    ds.gt_instances = gt
    ds.proposals = InstanceData(bboxes=boxes.clone())
    return ds


def batch(videos=('v', 'v'), times=(1, 2), seed=0):
    g = torch.Generator().manual_seed(seed)
    inputs = [torch.randint(0, 255, (3, 4, SIZE, SIZE), generator=g).float() for _ in videos]
    objects = [[0.0, 0.0, 0.5, 0.5], [0.5, 0.5, 1.0, 1.0]]
    samples = [sample(v, t, [[4, 4, 30, 60], [34, 8, 60, 56]], [5, 12], objects)
               for v, t in zip(videos, times)]
    return dict(inputs=inputs, data_samples=samples)


def test_boxes_to_input_frame_by_hand():
    boxes = torch.tensor([[0.5, 0.0, 1.0, 0.5], [0.6, 0.2, 0.8, 0.4]])
    # No crop, no flip: scale to (w, h) = (200, 100).
    assert torch.allclose(boxes_to_input_frame(boxes, (100, 200)),
                          torch.tensor([[100., 0, 200, 50], [120, 20, 160, 40]]))
    # Right half crop (x 0.5, w 0.5): x -> (x - 0.5) / 0.5.
    out = boxes_to_input_frame(boxes, (100, 200), (0.5, 0, 0.5, 1))
    assert torch.allclose(out, torch.tensor([[0., 0, 200, 50], [40, 20, 120, 40]]))
    # Then flipped: x' = w - x (mmaction2's Flip), x1 and x2 swapped.
    out = boxes_to_input_frame(boxes, (100, 200), (0.5, 0, 0.5, 1), flip=True)
    assert torch.allclose(out, torch.tensor([[0., 0, 200, 50], [80, 20, 160, 40]]))


def test_clip_indices_number_videos_in_order_of_appearance():
    metas = [dict(video_id='b', timestamp=902), dict(video_id='a', timestamp=903),
             dict(video_id='b', timestamp=903)]
    vid, t = clip_indices(metas)
    assert vid.tolist() == [0, 1, 0] and t.tolist() == [902, 903, 903]
    with pytest.raises(KeyError, match='video_id and timestamp'):
        clip_indices([dict(video_id='a')])


def test_head_checks_bbox_head_width(model_cfg):
    with pytest.raises(ValueError, match=f'set it to {C + 4}'):
        build(model_cfg, bbox_head=dict(type='BBoxHeadAVA', background_class=True,
                                        in_channels=C, num_classes=81))


def test_end_to_end_training_reaches_the_backbone(model_cfg):
    model = build(model_cfg)
    assert isinstance(model.roi_head, STAGERoIHead)
    model.train()
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01))
    conv1 = model.backbone.conv1.conv.weight
    before = conv1.detach().clone()
    stage_w = model.roi_head.stage.layers[0].heads.weight
    # One step by hand to look at the gradients...
    parsed = model.data_preprocessor(batch(seed=0), True)
    loss = model(**parsed, mode='loss')['loss_action_cls']
    loss.backward()
    assert torch.isfinite(loss)
    assert conv1.grad is not None and conv1.grad.abs().sum() > 0     # backbone
    assert stage_w.grad.abs().sum() > 0                              # STAGE heads
    assert model.roi_head.bbox_head.fc_cls.weight.grad.abs().sum() > 0
    optim.zero_grad()
    # ... then two iterations of mmengine's train_step.
    losses = [float(model.train_step(batch(seed=it), optim)['loss']) for it in (1, 2)]
    assert all(np.isfinite(losses))
    assert not torch.equal(before, conv1.detach())                       # the backbone moved


def logits(model, data):
    with torch.no_grad():
        parsed = model.data_preprocessor(copy.deepcopy(data), False)
        x = model.extract_feat(parsed['inputs'])
        metas = [ds.metainfo for ds in parsed['data_samples']]
        from mmdet.structures.bbox import bbox2roi
        rois = bbox2roi([ds.proposals.bboxes for ds in parsed['data_samples']])
        return model.roi_head._bbox_forward(x, rois, metas)['cls_score']


def test_clips_are_linked_only_within_a_video_and_the_temporal_radius(model_cfg):
    model = build(model_cfg)
    model.eval()
    for videos, times, linked in ((('v', 'v'), (1, 2), True), (('v', 'w'), (1, 2), False),
                                  (('v', 'v'), (1, 3), False)):
        data = batch(videos, times)
        ref = logits(model, data)
        other = copy.deepcopy(data)
        other['inputs'][1] = torch.flip(other['inputs'][1], dims=[3])   # change clip 1 only
        new = logits(model, other)
        clip0 = slice(0, 2)   # the two actors of clip 0
        assert torch.equal(ref[clip0], new[clip0]) != linked, (videos, times)
        assert not torch.equal(ref[2:], new[2:])


def test_objects_are_pooled_from_the_same_feature_map(model_cfg):
    model = build(model_cfg)
    model.eval()
    data = batch()
    none = copy.deepcopy(data)
    for ds in none['data_samples']:
        ds.set_metainfo(dict(object_bboxes=np.zeros((0, 4), np.float32)))
    assert not torch.allclose(logits(model, data), logits(model, none))
    # object_source='none': the object boxes are ignored.
    model = build(model_cfg, object_source='none')
    model.eval()
    assert torch.equal(logits(model, data), logits(model, none))


def test_predict_several_clips_gives_mmaction2_results(model_cfg):
    model = build(model_cfg)
    model.eval()
    with torch.no_grad():
        out = model.test_step(batch())
    assert len(out) == 2
    for ds in out:
        pred = ds.pred_instances
        assert pred.bboxes.shape == (2, 4) and pred.scores.shape == (2, 81)
        # Normalised boxes: the proposals (pixels of the 64 x 64 input) / 64.
        assert torch.allclose(pred.bboxes[0], torch.tensor([4, 4, 30, 60]) / SIZE)
        assert bool(((pred.scores >= 0) & (pred.scores <= 1)).all())


def test_load_object_boxes_filters_sorts_and_reports_missing(tmp_path):
    path = str(tmp_path / 'objects.pkl')
    with open(path, 'wb') as f:
        pickle.dump({'vid,0902': np.array([[0, 0, .1, .1, .3], [0, 0, .2, .2, .9],
                                           [0, 0, .3, .3, .1], [0, 0, .4, .4, .5]], np.float32)},
                    f)
    t = TRANSFORMS.build(dict(type='LoadAVAObjectBoxes', object_file=path, min_score=0.2,
                              max_objects=2))
    out = t(dict(video_id='vid', timestamp=902))
    # Scores >= 0.2 are .3, .9, .5; the two best are .9 then .5.
    assert np.allclose(out['object_bboxes'], [[0, 0, .2, .2], [0, 0, .4, .4]])
    with pytest.raises(KeyError, match='vid,0903'):
        t(dict(video_id='vid', timestamp=903))
    empty = LoadAVAObjectBoxes(path, on_missing='empty')
    assert empty(dict(video_id='vid', timestamp=903))['object_bboxes'].shape == (0, 4)
    assert empty.missing['keyframes without objects'] == 1
    # The project format written by tools/data/ava/extract_object_features.py.
    from vidplugins.stage.feature_io import open_feature_file, write_keyframe
    h5 = str(tmp_path / 'objects.h5')
    with open_feature_file(h5, 'objects', 'det', 8) as f:
        write_keyframe(f, 'objects', 'vid', 902, np.zeros((3, 8)),
                       [[0, 0, .1, .1], [0, 0, .2, .2], [0, 0, .3, .3]], [.3, .9, .1],
                       labels=[1, 2, 3])
    t = LoadAVAObjectBoxes(h5, min_score=0.2)
    assert np.allclose(t(dict(video_id='vid', timestamp=902))['object_bboxes'],
                       [[0, 0, .2, .2], [0, 0, .1, .1]])


# ------------------------------------------------------------------ demo/stage_video_demo.py
DEMO = osp.join(REPO, 'demo', 'stage_video_demo.py')
#: the tiny e2e model above, as --cfg-options of the shipped config
STAGE_OPTIONS = ['model.backbone.depth=18', 'model.backbone.base_channels=8',
                 f'model.roi_head.in_channels={C}',
                 'model.roi_head.bbox_roi_extractor.output_size=2',
                 f'model.roi_head.bbox_head.in_channels={C + 4}',
                 'test_dataloader.dataset.pipeline.2.scale=(-1,64)']


@pytest.fixture(scope='module')
def demo_checkpoints(tmp_path_factory, model_cfg):
    from tests.stage.test_extraction import OBJECT_CONFIG, OBJECT_OPTIONS, save_checkpoint
    root = tmp_path_factory.mktemp('demo_ckpt')
    # A 2-class detector (0 = person, 1 = an object class) keeps both kinds of boxes likely.
    det_options = dict(OBJECT_OPTIONS, **{'model.roi_head.bbox_head.num_classes': 2})
    det = save_checkpoint(OBJECT_CONFIG, det_options, 'mmdet', str(root / 'det.pth'), 0)
    model = build(model_cfg)
    stage = str(root / 'stage.pth')
    torch.save(dict(meta=dict(seed=np.int64(0)), state_dict=model.state_dict()), stage)
    det_args = ['--det-cfg-options'] + [f'{k}={v}'.replace(' ', '')
                                        for k, v in det_options.items()]
    return OBJECT_CONFIG, det, stage, det_args


def green_pixels(frame_bgr):
    b, g, r = (frame_bgr[..., i].astype(int) for i in range(3))
    return int(((g > 200) & (r < 80) & (b < 80)).sum())


def run_demo(video, out, demo_checkpoints):
    import runpy
    det_config, det, stage, det_args = demo_checkpoints
    demo = runpy.run_path(DEMO)
    stats = demo['main']([video, '--det-config', det_config, '--det-checkpoint', det,
                          '--config', CONFIG, '--checkpoint', stage, '--out', out,
                          '--device', 'cpu', '--det-score-thr', '0', '--action-score-thr', '0',
                          '--clips-per-batch', '3', '--cfg-options'] + STAGE_OPTIONS + det_args)
    import decord
    src, dst = decord.VideoReader(video), decord.VideoReader(out)
    assert len(dst) == len(src) == stats['frames']
    assert dst[0].shape == src[0].shape
    assert stats['people'] > 0
    mid = len(src) // 2
    # Boxes drawn in pure green (BGR (0, 255, 0)) on the frames.
    before = green_pixels(src[mid].asnumpy()[..., ::-1])
    after = green_pixels(dst[mid].asnumpy()[..., ::-1])
    assert after > before + 50, (before, after)
    return stats


def test_video_demo_on_a_generated_video(tmp_path, demo_checkpoints):
    from tests.stage.test_extraction import write_video
    video = write_video(str(tmp_path / 'tiny.mp4'), seconds=4, fps=10, size=(96, 64))
    stats = run_demo(video, str(tmp_path / 'out.mp4'), demo_checkpoints)
    assert stats['frames'] == 40 and stats['keyframes'] == 3     # seconds 1, 2, 3


def test_video_demo_on_a_real_video(tmp_path, demo_checkpoints):
    from tests.conftest import shared
    video = shared('videos', 'mmaction2_demo_demo.mp4')
    stats = run_demo(video, str(tmp_path / 'demo_out.mp4'), demo_checkpoints)
    assert stats['keyframes'] == 9                                 # 10 s: seconds 1..9
