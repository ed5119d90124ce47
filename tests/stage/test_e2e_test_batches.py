"""End-to-end configs at test time: batches of consecutive keyframes of one video, so STAGE's
temporal links are used when testing too, every keyframe predicted exactly once (also split over
ranks), and mmaction2's AVAMetric consumes the predictions unchanged.

mmaction2's own AVADataset on tiny generated raw frames (64 x 64 px, 1 fps) and the tiny e2e model
of test_roi_head.py (random weights).
"""
import copy
import pickle
from itertools import chain, zip_longest

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

import vidplugins  # noqa: F401
from mmaction.evaluation import AVAMetric
from vidplugins.stage import samplers
from vidplugins.stage.samplers import KeyframeBlockTestSampler

from .test_roi_head import CONFIG, build, tiny_model_cfg

# csv order is deliberately not sorted: the sampler orders keyframes by (video, timestamp)
KEYFRAMES = [('vid_b', 902), ('vid_a', 903), ('vid_a', 902), ('vid_a', 904), ('vid_a', 905),
             ('vid_b', 903)]


@pytest.fixture(scope='module')
def ava(tmp_path_factory):
    root = tmp_path_factory.mktemp('ava_e2e')
    rng = np.random.default_rng(0)
    for v in ('vid_a', 'vid_b'):
        (root / v).mkdir()
        for i in range(1, 12):   # fps 1: keyframe t is frame t - 900 + 1
            cv2.imwrite(str(root / v / f'img_{i:05d}.jpg'),
                        rng.integers(0, 255, (64, 64, 3), dtype=np.uint8))
    (root / 'ann.csv').write_text(''.join(f'{v},{t},0.1,0.1,0.5,0.9,12,0\n'
                                          for v, t in KEYFRAMES))
    (root / 'labels.pbtxt').write_text('item {\n  name: "a"\n  id: 12\n}\n')
    props = {f'{v},{t:04d}': np.array([[0.1, 0.1, 0.5, 0.9, 1.0], [0.5, 0.2, 0.9, 0.8, 1.0]],
                                  np.float32) for v, t in KEYFRAMES}
    objects = {f'{v},{t}': np.array([[0.0, 0.0, 0.5, 0.5, 0.9]], np.float32)
               for v, t in KEYFRAMES}
    for name, data in (('props.pkl', props), ('objects.pkl', objects)):
        with open(root / name, 'wb') as f:
            pickle.dump(data, f)
    return root


def e2e_test_loader_cfg(root, block_size=16):
    """The shipped e2e config's test dataloader, pointed at the tiny frames."""
    cfg = Config.fromfile(CONFIG)
    loader = copy.deepcopy(cfg.test_dataloader)
    assert loader.sampler == dict(type='KeyframeBlockTestSampler', block_size=16, per_video=True)
    assert loader.batch_sampler == dict(type='KeyframeBlockBatchSampler')
    assert loader.batch_size == 16
    pipe = loader.dataset.pipeline
    pipe[0].update(clip_len=4, frame_interval=1)               # SampleAVAFrames
    pipe[2].update(scale=(-1, 64))                             # Resize
    pipe[4].update(object_file=str(root / 'objects.pkl'))      # LoadAVAObjectBoxes
    loader.dataset.update(ann_file=str(root / 'ann.csv'), exclude_file=None,
                          label_file=str(root / 'labels.pbtxt'),
                          proposal_file=str(root / 'props.pkl'), data_prefix=dict(img=str(root)),
                          fps=1)
    loader.update(num_workers=0, persistent_workers=False, batch_size=block_size)
    loader.sampler.update(block_size=block_size)
    return loader


def keys(batch):
    return [(ds.metainfo['video_id'], ds.metainfo['timestamp']) for ds in batch['data_samples']]


def scores(model, batch):
    with torch.no_grad():
        return [ds.pred_instances.scores for ds in model.test_step(copy.deepcopy(batch))]


def test_test_batches_are_consecutive_keyframes_of_one_video(ava, monkeypatch):
    init_default_scope('mmaction')
    loader = Runner.build_dataloader(e2e_test_loader_cfg(ava, block_size=3))
    batches = [keys(b) for b in loader]
    assert batches == [[('vid_a', 902), ('vid_a', 903), ('vid_a', 904)], [('vid_a', 905)],
                       [('vid_b', 902), ('vid_b', 903)]]
    # every keyframe once, whatever the number of ranks (no padding)
    n = len(loader.dataset)
    for world in (1, 2, 3, 4, 7):
        parts = []
        for rank in range(world):
            monkeypatch.setattr(samplers, 'get_dist_info', lambda: (rank, world))
            parts.append(list(KeyframeBlockTestSampler(loader.dataset, 3, per_video=True)))
        # mmengine.dist.collect_results: zip_longest over ranks, None dropped, first `size` kept
        collected = [i for i in chain.from_iterable(zip_longest(*parts)) if i is not None][:n]
        assert sorted(collected) == list(range(n)), world


def test_scores_depend_on_the_neighbour_keyframe_not_on_another_video(ava):
    init_default_scope('mmaction')
    loader = Runner.build_dataloader(e2e_test_loader_cfg(ava, block_size=3))
    first = next(iter(loader))                 # vid_a 902, 903, 904
    model = build(tiny_model_cfg())
    model.eval()
    ref = scores(model, first)
    changed = copy.deepcopy(first)
    changed['inputs'][2] = torch.flip(changed['inputs'][2], dims=[-1])   # neighbour 904
    new = scores(model, changed)
    assert not torch.allclose(ref[1], new[1])          # 903 sees 904 (1 s apart)
    # (902 changes too: 2 layers reach 904 through 903)
    # A batch holding another video: its keyframe does not change vid_a's scores.
    ds = loader.dataset
    idx = {(ds.get_data_info(i)['video_id'], ds.get_data_info(i)['timestamp']): i
           for i in range(len(ds))}
    mixed = pseudo_collate([ds[idx[k]] for k in (('vid_a', 902), ('vid_a', 903),
                                                 ('vid_b', 903))])
    ref = scores(model, mixed)
    other = copy.deepcopy(mixed)
    other['inputs'][2] = torch.flip(other['inputs'][2], dims=[-1])
    new = scores(model, other)
    assert torch.equal(ref[0], new[0]) and torch.equal(ref[1], new[1])
    assert not torch.allclose(ref[2], new[2])


def test_every_keyframe_predicted_once_and_ava_metric_runs(ava):
    init_default_scope('mmaction')
    loader = Runner.build_dataloader(e2e_test_loader_cfg(ava))   # the config's b = 16
    model = build(tiny_model_cfg())
    model.eval()
    metric = AVAMetric(ann_file=str(ava / 'ann.csv'), label_file=str(ava / 'labels.pbtxt'),
                       exclude_file=None)
    metric.dataset_meta = {}
    batches = 0
    for batch in loader:
        batches += 1
        with torch.no_grad():
            out = model.test_step(batch)
        assert len(out) == len(batch['data_samples'])
        for ds in out:
            assert ds.pred_instances.bboxes.shape == (2, 4)
            assert ds.pred_instances.scores.shape == (2, 81)
        metric.process(batch, [ds.to_dict() for ds in out])
    assert batches == 2                                 # one block per video
    assert sorted((r['video_id'], r['timestamp']) for r in metric.results) == sorted(KEYFRAMES)
    result = metric.evaluate(len(loader.dataset))
    assert 0 <= result['mAP/overall'] <= 1                # AVA's frame-mAP ran on them
