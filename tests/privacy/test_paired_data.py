"""Paired data (thesis Eq. 5.1, Sec. 5.2): the original x* and the anonymised x of a sample reach
teacher and student with the same frames and crop; unpaired or broken samples never train."""
import json
import os
import os.path as osp
import shutil

import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope

import vidplugins  # noqa: F401
from mmaction.registry import DATASETS
from vidplugins.demo_data.privacy_videos import face_texture, write_video


def _clip(seed, n=12, size=32):
    """A clip whose content is asymmetric in space and time (any crop / flip / frame mismatch
    between the two halves shows)."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 100, (1, size, size, 3))
    ramp = np.arange(n)[:, None, None, None] * 12
    return np.clip(base + ramp, 0, 255).astype(np.uint8)


@pytest.fixture(scope='module')
def pair_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('paired'))
    for i in range(3):
        clip = _clip(i)
        write_video(osp.join(root, 'orig', f'v{i}.mp4'), clip)
        # The obfuscated copy is a byte-identical copy: after augmentation both halves must
        # match exactly, which only holds if every random parameter was shared.
        os.makedirs(osp.join(root, 'obf'), exist_ok=True)
        if i < 2:
            shutil.copy(osp.join(root, 'orig', f'v{i}.mp4'), osp.join(root, 'obf', f'v{i}.mp4'))
    # v2 has no obfuscated copy; v3 is listed but absent everywhere.
    with open(osp.join(root, 'list.txt'), 'w') as f:
        f.write('v0.mp4 0\nv1.mp4 1\nv2.mp4 2\nv3.mp4 0\n')
    return root


PIPELINE = [
    dict(type='LoadPairedVideo'),
    dict(type='SampleFrames', clip_len=4, frame_interval=2, num_clips=1),
    dict(type='PairedDecode'),
    dict(type='Resize', scale=(40, 36), keep_ratio=False),
    dict(type='RandomResizedCrop'),
    dict(type='Resize', scale=(16, 16), keep_ratio=False),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='PackPairedInputs', input_format='NCTHW'),
]


def _dataset(root, **kwargs):
    init_default_scope('mmaction')
    return DATASETS.build(dict(type='PairedVideoDataset', ann_file=osp.join(root, 'list.txt'),
                               data_prefix=dict(video=osp.join(root, 'orig')),
                               obfuscated_prefix=osp.join(root, 'obf'), pipeline=PIPELINE,
                               **kwargs))


def test_identical_geometry_and_frames_for_both_halves(pair_root):
    ds = _dataset(pair_root)
    for trial in range(8):
        for i in range(len(ds)):
            out = ds[i]
            x = out['inputs']
            assert x.shape == (2, 3, 4, 16, 16)   # [obfuscated view, original view]
            assert torch.equal(x[0], x[1])
            meta = out['data_samples'].metainfo
            assert meta['paired_views'] == 1
            assert meta['obfuscated_filename'].endswith(osp.join('obf', f'v{i}.mp4'))
    # The halves differ from a view of another clip: the equality above is not vacuous.
    assert not torch.equal(ds[0]['inputs'][0], ds[1]['inputs'][0])


def test_paired_decode_stacks_obfuscated_then_original_at_the_same_indices(pair_root, tmp_path):
    clip = _clip(0)
    write_video(str(tmp_path / 'orig' / 'a.mp4'), clip)
    write_video(str(tmp_path / 'obf' / 'a.mp4'), 255 - clip)   # a different, known obfuscation
    from mmaction.registry import TRANSFORMS
    init_default_scope('mmaction')
    results = dict(filename=str(tmp_path / 'orig' / 'a.mp4'),
                   obfuscated_filename=str(tmp_path / 'obf' / 'a.mp4'), start_index=0,
                   modality='RGB')
    for t in PIPELINE[:3]:
        results = TRANSFORMS.build(t)(results)
    n = results['paired_len']
    assert n == 4 and len(results['imgs']) == 8
    obf, orig = np.stack(results['imgs'][:n]).astype(int), np.stack(results['imgs'][n:]).astype(int)
    # Same frames: the inverted copy decodes to 255 - original (up to H.264 rounding).
    assert np.abs(obf + orig - 255).mean() < 3
    # And they are the frames at frame_inds (the brightness ramp of _clip: 12 per frame).
    means = orig.mean(axis=(1, 2, 3))
    assert np.allclose(np.diff(means), 12 * np.diff(results['frame_inds']), atol=3)


def test_missing_pairs_are_counted_and_reported(pair_root, tmp_path):
    report = str(tmp_path / 'report.json')
    ds = _dataset(pair_root, report_file=report)
    assert len(ds) == 2
    assert [s['reason'] for s in ds.skipped] == ['missing obfuscated', 'missing original']
    with open(report) as f:
        rep = json.load(f)
    assert rep['kept'] == 2 and rep['skipped'] == 2
    assert rep['reasons'] == {'missing obfuscated': 1, 'missing original': 1}


def test_strict_mode_raises_naming_the_file(pair_root):
    with pytest.raises(FileNotFoundError, match=r'v2\.mp4.*missing obfuscated'):
        _dataset(pair_root, strict=True)


def test_check_videos_skips_truncated_empty_and_mismatched(tmp_path):
    root = str(tmp_path)
    good = _clip(5)
    for name in ('ok', 'short', 'trunc', 'empty'):
        write_video(osp.join(root, 'orig', f'{name}.mp4'), good)
    write_video(osp.join(root, 'obf', 'ok.mp4'), good)
    write_video(osp.join(root, 'obf', 'short.mp4'), good[:6])          # 6 vs 12 frames
    with open(osp.join(root, 'orig', 'ok.mp4'), 'rb') as f:
        data = f.read()
    with open(osp.join(root, 'obf', 'trunc.mp4'), 'wb') as f:
        f.write(data[:len(data) // 3])                                  # truncated container
    open(osp.join(root, 'obf', 'empty.mp4'), 'wb').close()              # zero bytes
    with open(osp.join(root, 'list.txt'), 'w') as f:
        f.write('ok.mp4 0\nshort.mp4 0\ntrunc.mp4 0\nempty.mp4 0\n')
    ds = _dataset(root, check_videos=True)
    assert len(ds) == 1 and ds[0]['inputs'].shape[0] == 2
    reasons = {osp.basename(s['filename']): s['reason'] for s in ds.skipped}
    assert reasons['short.mp4'] == 'frame count mismatch (12 vs 6)'
    assert reasons['trunc.mp4'].startswith('unreadable obfuscated')
    assert reasons['empty.mp4'].startswith('unreadable obfuscated')
    # Without the start-up check, the broken pair fails loudly when loaded, naming the file.
    ds = _dataset(root)
    names = [osp.basename(ds.get_data_info(i)['filename']) for i in range(len(ds))]
    idx = names.index('empty.mp4')
    with pytest.raises(RuntimeError, match=r'obfuscated_filename.*empty\.mp4'):
        ds.pipeline(ds.get_data_info(idx))
    idx = names.index('short.mp4')
    with pytest.raises(RuntimeError, match='differ in length'):
        ds.pipeline(ds.get_data_info(idx))


def test_pack_refuses_unpaired_samples():
    from vidplugins.privacy.pipelines import PackPairedInputs
    with pytest.raises(KeyError, match='not paired'):
        PackPairedInputs()(dict(filename='x.mp4', imgs=[np.zeros((4, 4, 3), np.uint8)]))


def test_demo_face_textures_have_equal_means_and_differ():
    """The privileged cue is the layout, not the mean: a box filter wider than the face leaves
    the same patch for every class."""
    textures = [face_texture(c, 8) for c in range(6)]
    assert all(t.mean() == 0.5 for t in textures)
    assert len({t.tobytes() for t in textures}) == 6


def test_demo_videos_are_bit_identical_for_a_seed(tmp_path):
    """The generated set must not depend on encoder scheduling (x264's defaults wrote about one
    video in six differently from run to run, so trained models differed between runs)."""
    from vidplugins.demo_data.privacy_videos import generate_privacy_videos
    splits = {'train': 3, 'test': 1}
    for run in ('a', 'b'):
        generate_privacy_videos(str(tmp_path / run), splits=splits, seed=3)
    files = sorted(p.relative_to(tmp_path / 'a') for p in (tmp_path / 'a').rglob('*.mp4'))
    assert len(files) == 2 * 4 * (3 + 1)  # originals + obfuscated, 4 classes
    for rel in files:
        assert (tmp_path / 'a' / rel).read_bytes() == (tmp_path / 'b' / rel).read_bytes(), rel


def test_rgb_to_yuv420p_matches_bt601_by_hand():
    from vidplugins.demo_data.privacy_videos import rgb_to_yuv420p
    frame = np.zeros((4, 2, 3), np.uint8)
    frame[..., 0] = 255  # red: Y = 16 + 0.257 * 255, U = 128 - 0.148 * 255, V = 128 + 0.439 * 255
    frame[2:] = 0        # black below: Y = 16, U = V = 128; chroma averages 2 x 2 pixels
    yuv = rgb_to_yuv420p(frame)
    assert yuv.shape == (6, 2)
    np.testing.assert_array_equal(yuv[:4], [[82, 82], [82, 82], [16, 16], [16, 16]])
    np.testing.assert_array_equal(yuv[4], [90, 128])   # U plane (2 x 1), packed in one row
    np.testing.assert_array_equal(yuv[5], [240, 128])  # V plane
    with pytest.raises(ValueError, match='multiple of 4'):
        rgb_to_yuv420p(np.zeros((6, 2, 3), np.uint8))
