"""Feature extraction (extraction.py, tools/data/ava/extract_*_features.py) on generated and real
videos, with random checkpoints the tests save (no download possible) and load weights-only.

Models are mmaction2's SlowOnly AVA config and mmdet's Faster R-CNN C4 config, shrunk through
``--cfg-options`` (depth-18 backbones, 8 / 64 base channels, 64-pixel inputs) so that a keyframe
takes a fraction of a second on CPU.
"""
import os.path as osp
import pickle
import runpy
import sys

import cv2
import h5py
import numpy as np
import pytest
import torch
from mmengine.config import Config

import vidplugins  # noqa: F401
from tests.conftest import shared
from vidplugins.stage.extraction import (ActorFeatureExtractor, ExtractionInputError,
                                         ObjectFeatureExtractor, VideoFolder, actor_keyframes,
                                         ava_clip_pipeline, load_model, read_proposals,
                                         run_extraction, whole_seconds)
from vidplugins.stage.feature_io import build_reader

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
ACTOR_CONFIG = ('mmaction::detection/slowonly/'
                'slowonly_kinetics400-pretrained-r50_8xb16-4x16x1-20e_ava21-rgb.py')
OBJECT_CONFIG = 'mmdet::faster_rcnn/faster-rcnn_r50-caffe_c4-1x_coco.py'
#: SlowOnly depth 18 with 8 base channels: 4th stage 8 * 8 = 64 channels.
ACTOR_OPTIONS = {'model.backbone.depth': 18, 'model.backbone.base_channels': 8,
                 'model.roi_head.bbox_head.in_channels': 64,
                 'model.roi_head.bbox_roi_extractor.output_size': 2,
                 'test_dataloader.dataset.pipeline.2.scale': (-1, 64)}
#: ResNet-18 C4: res4 has 256 channels, the res5 shared head (ResLayer stage 3) 512.
OBJECT_OPTIONS = {'model.backbone.depth': 18, 'model.rpn_head.in_channels': 256,
                  'model.rpn_head.feat_channels': 64,
                  'model.roi_head.bbox_roi_extractor.out_channels': 256,
                  'model.roi_head.bbox_roi_extractor.roi_layer.output_size': 4,
                  'model.roi_head.shared_head.depth': 18,
                  'model.roi_head.bbox_head.in_channels': 512,
                  'model.roi_head.bbox_head.roi_feat_size': 2,
                  'model.test_cfg.rpn.nms_pre': 200, 'model.test_cfg.rpn.max_per_img': 30,
                  'model.test_cfg.rcnn.score_thr': 0.0, 'model.test_cfg.rcnn.max_per_img': 20,
                  'test_dataloader.dataset.pipeline.1.scale': (96, 64)}
ACTOR_TOOL = osp.join(REPO, 'tools', 'data', 'ava', 'extract_actor_features.py')
OBJECT_TOOL = osp.join(REPO, 'tools', 'data', 'ava', 'extract_object_features.py')


def write_video(path, seconds=4, fps=10, size=(64, 48)):
    """A square moving across a gradient: ``seconds * fps`` frames."""
    w, h = size
    out = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), fps, (w, h))
    for i in range(seconds * fps):
        img = np.tile(np.linspace(0, 255, w, dtype=np.uint8)[None, :, None], (h, 1, 3))
        x = (3 * i) % (w - 16)
        img[16:32, x:x + 16] = (0, 0, 255)
        out.write(img)
    out.release()
    return path


def save_checkpoint(config, options, scope, path, seed):
    """A randomly initialised model saved as an mmengine checkpoint (state_dict + meta)."""
    torch.manual_seed(seed)
    model, _ = load_model(config, None, scope, cfg_options=options)
    torch.save(dict(meta=dict(seed=np.int64(seed), epoch=0), state_dict=model.state_dict()), path)
    return path


def run_tool(tool, *args):
    argv = sys.argv
    sys.argv = [tool] + [str(a) for a in args]
    try:
        runpy.run_path(tool, run_name='__main__')
    finally:
        sys.argv = argv


def read_all(path, kind, feat_dim=None):
    """Every keyframe of a project-format file, read by the DATA reader (file closed after)."""
    reader = build_reader('vidplugins', kind, path, feat_dim=feat_dim)
    out = {key: reader.read(*key) for key in reader.keys()}
    reader._h5.close()   # the reader keeps its handle open for DataLoader workers
    return out


def cfg_args(options):
    return ['--cfg-options'] + [f'{k}={v}'.replace(' ', '') for k, v in options.items()]


@pytest.fixture(scope='module')
def videos(tmp_path_factory):
    root = tmp_path_factory.mktemp('videos')
    write_video(str(root / 'vidA.mp4'))                       # 4 s at 10 fps
    write_video(str(root / 'vidB.mp4'), seconds=3, fps=8)    # 3 s at 8 fps
    return str(root)


@pytest.fixture(scope='module')
def actor_ckpts(tmp_path_factory):
    root = tmp_path_factory.mktemp('ckpt')
    return [save_checkpoint(ACTOR_CONFIG, ACTOR_OPTIONS, 'mmaction', str(root / f'a{s}.pth'), s)
            for s in (0, 1)]


def test_read_proposals_and_keyframes(tmp_path):
    pkl = str(tmp_path / 'dets.pkl')
    with open(pkl, 'wb') as f:
        pickle.dump({'vidA,0001': np.array([[.1, .1, .5, .5, .9], [.2, .2, .6, .6, .3]]),
                     'vidA,0002': np.array([[.1, .1, .5, .5]]),          # no score -> 1.0
                     'vidB,0001': np.zeros((0, 5))}, f)
    props = read_proposals(pkl, min_score=0.5)
    assert props[('vidA', 1)].shape == (1, 5) and props[('vidA', 1)][0, 4] == np.float32(.9)
    assert props[('vidA', 2)][0, 4] == 1.0 and props[('vidB', 1)].shape == (0, 5)
    csv = tmp_path / 'gt.csv'
    # Two rows (actions) of the same box are one actor.
    csv.write_text('vidA,0001,0.0,0.0,0.5,1.0,12,0\nvidA,0001,0.0,0.0,0.5,1.0,80,0\n'
                   'vidA,0003,0.5,0.0,1.0,1.0,1,1\n')
    excl = tmp_path / 'excl.csv'
    excl.write_text('vidA,0003\n')
    keys = actor_keyframes(str(csv), pkl, str(excl))
    assert list(keys) == [('vidA', 1), ('vidA', 2), ('vidB', 1)]
    boxes, scores, is_gt = keys[('vidA', 1)]
    # Ground truth first (score 1.0, marked), then the detections (any score by default).
    assert np.allclose(boxes, [[0, 0, .5, 1], [.1, .1, .5, .5], [.2, .2, .6, .6]])
    assert np.allclose(scores, [1.0, .9, .3]) and is_gt.tolist() == [True, False, False]
    bad = str(tmp_path / 'bad.pkl')
    with open(bad, 'wb') as f:
        pickle.dump({'vidA-0001': np.zeros((1, 5))}, f)
    with pytest.raises(ExtractionInputError, match="bad.pkl: key 'vidA-0001'"):
        read_proposals(bad)
    with open(bad, 'wb') as f:
        pickle.dump({'vidA,0001': np.zeros((2, 3))}, f)
    with pytest.raises(ExtractionInputError, match=r'expected \(N, 4\) or \(N, 5\)'):
        read_proposals(bad)


def test_clip_pipeline_uses_mmaction2_ava_sampling():
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'stage',
                                   'stage-e2e_slowonly-k400-pre-r50_8xb16-4x16x1-20e_ava21-rgb.py'))
    steps = ava_clip_pipeline(cfg, dict(type='DecordDecode'))
    names = [s['type'] for s in steps]
    assert names[:3] == ['SampleAVAFrames', 'DecordDecode', 'Resize']
    assert steps[0]['test_mode'] and steps[0]['clip_len'] == 4
    cfg.test_dataloader.dataset.pipeline = [dict(type='SampleFrames', clip_len=4)]
    with pytest.raises(ExtractionInputError, match='no SampleAVAFrames'):
        ava_clip_pipeline(cfg, dict(type='DecordDecode'), 'my_config.py')


def test_actor_tool_on_generated_videos_is_resumable(tmp_path, videos, actor_ckpts):
    pkl = str(tmp_path / 'dets.pkl')
    boxes = np.array([[.1, .1, .5, .9, .8], [.5, .2, .9, .9, .4]], np.float32)
    with open(pkl, 'wb') as f:
        pickle.dump({'vidA,0001': boxes, 'vidA,0002': boxes[:1], 'vidA,0003': boxes[:0],
                     'vidB,0001': boxes, 'vidA,0009': boxes,      # 9 s > the 4 s video
                     'missing,0001': boxes}, f)
    out = str(tmp_path / 'actors.h5')
    args = [ACTOR_CONFIG, actor_ckpts[0], '--video-dir', videos, '--proposals', pkl,
            '--timestamp-start', 0, '--split', 'train', '--out', out] + cfg_args(ACTOR_OPTIONS)
    # The saved checkpoints load weights-only (torch's default since 2.6).
    assert 'state_dict' in torch.load(actor_ckpts[0], weights_only=True)
    run_tool(ACTOR_TOOL, *args)
    entries = read_all(out, 'actors', feat_dim=64)
    assert sorted(entries) == [('vidA', 1), ('vidA', 2), ('vidA', 3), ('vidB', 1)]
    a1 = entries[('vidA', 1)]
    assert a1['feats'].shape == (2, 64) and np.isfinite(a1['feats']).all()
    assert np.allclose(a1['boxes'], boxes[:, :4]) and np.allclose(a1['scores'], [.8, .4])
    assert entries[('vidA', 3)]['feats'].shape == (0, 64)      # empty keyframe is valid
    # Same box, other second / other video: other clips, other features.
    assert not np.allclose(entries[('vidA', 2)]['feats'], a1['feats'][:1])
    assert not np.allclose(entries[('vidB', 1)]['feats'], a1['feats'])

    # Resume: nothing to do; a deleted keyframe is recomputed identically (same checkpoint).
    with h5py.File(out, 'a') as f:
        del f['vidA/0001']
    source = VideoFolder(videos, timestamp_start=0)
    ext = ActorFeatureExtractor(ACTOR_CONFIG, actor_ckpts[0], source, cfg_options=ACTOR_OPTIONS)
    keys = actor_keyframes(None, pkl)

    def compute(video, ts):
        b, s, gt = keys[(video['video_id'], ts)]
        return ext(video, ts, b), b, s, gt

    stats = run_extraction(out, 'actors', osp.basename(ACTOR_CONFIG)[:-3], 64, source,
                           list(keys), compute)
    # 6 keyframes: 3 resumed, 1 rewritten, 1 missing video, 1 beyond the end of vidA.
    assert stats['resumed'] == 3 and stats['written'] == 1
    assert stats['skipped (missing video)'] == 1 and stats['skipped (beyond the video end)'] == 1
    assert np.allclose(read_all(out, 'actors')[('vidA', 1)]['feats'], a1['feats'], atol=1e-6)
    # The features come from the checkpoint: another one gives other features.
    other = ActorFeatureExtractor(ACTOR_CONFIG, actor_ckpts[1], source,
                                  cfg_options=ACTOR_OPTIONS)
    video = source.open('vidA')
    assert not np.allclose(other(video, 1, boxes[:, :4]), a1['feats'])
    assert np.allclose(ext(video, 1, boxes[:, :4]), a1['feats'], atol=1e-6)
    # One box alone gives the same features as within a pair (RoIs are pooled independently).
    assert np.allclose(ext(video, 1, boxes[:1, :4]), a1['feats'][:1], atol=1e-5)


def test_raw_frames_give_the_features_of_the_video(tmp_path, videos, actor_ckpts):
    """Frames of vidA saved losslessly as img_00001.png... (first index 1, as AVA's rawframes)
    and read by RawFrameDecode give exactly the features of the decoded video."""
    import decord
    from vidplugins.stage.extraction import FrameFolder
    folder = tmp_path / 'frames' / 'vidA'
    folder.mkdir(parents=True)
    for i, rgb in enumerate(decord.VideoReader(osp.join(videos, 'vidA.mp4'))):
        cv2.imwrite(str(folder / f'img_{i + 1:05d}.png'), rgb.asnumpy()[..., ::-1])
    frames = FrameFolder(str(tmp_path / 'frames'), timestamp_start=0, fps=10,
                         filename_tmpl='img_{:05}.png', start_index=1)
    source = VideoFolder(videos, timestamp_start=0)
    boxes = np.array([[.1, .1, .5, .9], [.5, .2, .9, .9]], np.float32)
    by_frames = ActorFeatureExtractor(ACTOR_CONFIG, actor_ckpts[0], frames,
                                      cfg_options=ACTOR_OPTIONS)
    by_video = ActorFeatureExtractor(ACTOR_CONFIG, actor_ckpts[0], source,
                                     cfg_options=ACTOR_OPTIONS)
    for ts in (1, 3):
        assert np.allclose(by_frames(frames.open('vidA'), ts, boxes),
                           by_video(source.open('vidA'), ts, boxes), atol=1e-5)
    img = frames.keyframe_image(frames.open('vidA'), 2)
    assert np.array_equal(img, source.keyframe_image(source.open('vidA'), 2))


def test_actor_features_on_a_real_video(tmp_path, actor_ckpts):
    path = shared('videos', 'mmaction2_demo_demo.mp4')
    source = VideoFolder(osp.dirname(path), timestamp_start=0)
    ext = ActorFeatureExtractor(ACTOR_CONFIG, actor_ckpts[0], source, cfg_options=ACTOR_OPTIONS)
    video = source.open('mmaction2_demo_demo')
    assert video['num_frames'] > 250 and round(video['fps']) == 28       # 10 s at 28 fps
    boxes = np.array([[.05, .1, .5, 1.], [.5, .1, .95, 1.]], np.float32)
    feats = [ext(video, ts, boxes) for ts in (2, 5)]
    assert all(f.shape == (2, 64) and np.isfinite(f).all() for f in feats)
    assert not np.allclose(feats[0], feats[1])


def test_object_tool_writes_detections_with_features(tmp_path, videos):
    ckpt = save_checkpoint(OBJECT_CONFIG, OBJECT_OPTIONS, 'mmdet', str(tmp_path / 'det.pth'), 0)
    out = str(tmp_path / 'objects.h5')
    args = [OBJECT_CONFIG, ckpt, '--video-dir', videos, '--all-seconds', '--timestamp-start', 0,
            '--score-thr', 0.0, '--max-objects', 5, '--out', out] + cfg_args(OBJECT_OPTIONS)
    run_tool(OBJECT_TOOL, *args)
    entries = read_all(out, 'objects', feat_dim=512)
    # Whole seconds inside the videos: 1..3 of vidA (4 s), 1..2 of vidB (3 s).
    assert sorted(entries) == [('vidA', 1), ('vidA', 2), ('vidA', 3), ('vidB', 1), ('vidB', 2)]
    for e in entries.values():
        assert e['feats'].shape == (5, 512) and e['labels'].shape == (5,)
        assert (e['boxes'] >= 0).all() and (e['boxes'] <= 1).all()
        assert (np.diff(e['scores']) <= 0).all()                  # highest scores first
        assert ((e['labels'] >= 0) & (e['labels'] < 80)).all()
    # Resumable: a second run writes nothing.
    source = VideoFolder(videos, timestamp_start=0)
    assert whole_seconds(source, ['vidB']) == [('vidB', 1), ('vidB', 2)]
    ext = ObjectFeatureExtractor(OBJECT_CONFIG, ckpt, source, 0.0, 5,
                                 cfg_options=OBJECT_OPTIONS)
    stats = run_extraction(out, 'objects', osp.basename(OBJECT_CONFIG)[:-3], 512, source,
                           sorted(entries), ext)
    assert stats['resumed'] == 5 and stats['written'] == 0
    # Object features are the RoI features of the written boxes (through the res5 head).
    video = source.open('vidA')
    feats, boxes, scores, labels = ext(video, 2)
    assert np.allclose(feats, entries[('vidA', 2)]['feats'], atol=1e-5)
    assert np.allclose(boxes, entries[('vidA', 2)]['boxes'], atol=1e-6)


def test_missing_checkpoint_is_named(tmp_path, videos):
    with pytest.raises(ExtractionInputError, match='nope.pth: checkpoint not found'):
        ActorFeatureExtractor(ACTOR_CONFIG, str(tmp_path / 'nope.pth'),
                              VideoFolder(videos, 0), cfg_options=ACTOR_OPTIONS)
