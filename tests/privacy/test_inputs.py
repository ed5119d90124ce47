"""Inputs users have (video files, images, folders of images, mmaction2 rawframes), written back in
the same layout; sharded runs; what a killed run leaves; output file modes."""
import json
import os
import os.path as osp
import stat

import cv2
import numpy as np
import pytest

from tests.privacy.conftest import square_video
from vidplugins.privacy.anonymizer import VideoWriter, anonymize_dataset
from vidplugins.privacy.inputs import in_shard, parse_shard, read_image, walk_inputs

BOX = (16, 8, 40, 32)  # x1, y1, x2, y2 of the generated "face"
KW = dict(level='face', detector=dict(type='BoxFileDetector'), method='solid', enlarge=0.0,
          progress=False)


def textured(seed, size=(48, 64)):
    """A 4x4-block random texture (survives JPEG well) with a white square at BOX."""
    rng = np.random.default_rng(seed)
    h, w = size
    img = np.kron(rng.integers(0, 256, (h // 4, w // 4, 3), dtype=np.uint8),
                  np.ones((4, 4, 1), np.uint8))
    x1, y1, x2, y2 = BOX
    img[y1:y2, x1:x2] = 255
    return img


def save(path, rgb):
    os.makedirs(osp.dirname(path), exist_ok=True)
    assert cv2.imwrite(path, np.ascontiguousarray(rgb[..., ::-1]))


def sidecar(path, per_frame):
    """``<path>.boxes.json`` for the BoxFileDetector: ``per_frame[i]`` = face in frame i or not."""
    with open(path.rstrip('/') + '.boxes.json', 'w') as f:
        json.dump({'frames': [[[*BOX, 0.9]] if p else [] for p in per_frame]}, f)


def face_hidden(img):
    x1, y1, x2, y2 = BOX
    return bool(img[y1:y2, x1:x2].mean() < 15)  # 'solid' paints black; the square was white


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_walk_inputs_classifies_and_lists_the_rest(tmp_path):
    root = tmp_path / 'data'
    square_video(str(root / 'clips' / 'a.mp4'), n=2, sidecar=False)
    save(str(root / 'photos' / 'p1.jpg'), textured(0))
    save(str(root / 'photos' / 'p2.png'), textured(1))
    for i in (10, 2, 1):  # numeric order, not the listing's
        save(str(root / 'rawframes' / 'v1' / f'img_{i:05d}.jpg'), textured(i))
    save(str(root / 'rawframes' / 'v1' / 'flow_x_00001.jpg'), textured(3))  # not img_: an image
    (root / 'clips' / 'notes.txt').write_text('x')
    (root / 'clips' / 'b.xyz').write_bytes(b'x')
    (root / '.hidden').mkdir()
    (root / '.hidden' / 'c.mp4').write_bytes(b'x')
    items, unknown = walk_inputs(str(root))
    assert [(it.rel, it.kind) for it in items] == [
        ('clips/a.mp4', 'video'), ('photos/p1.jpg', 'image'), ('photos/p2.png', 'image'),
        ('rawframes/v1', 'rawframes'), ('rawframes/v1/flow_x_00001.jpg', 'image')]
    assert items[3].frames == ['img_00001.jpg', 'img_00002.jpg', 'img_00010.jpg']
    assert unknown == ['.hidden/', 'clips/b.xyz', 'clips/notes.txt']


def test_single_image_and_folder_of_images(tmp_path):
    img = textured(0)
    src = str(tmp_path / 'photo.jpg')
    save(src, img)
    sidecar(src, [True])
    rep = anonymize_dataset(src, str(tmp_path / 'anon.jpg'), **KW)
    out = read_image(str(tmp_path / 'anon.jpg'))
    assert out.shape == img.shape and face_hidden(out) and rep['summary']['ok'] == 1
    assert rep['videos']['photo.jpg']['kind'] == 'image'
    assert rep['report_path'] == str(tmp_path / 'anon.jpg') + '.report.json'
    # the background is the decoded input, up to one more JPEG encoding (quality 95)
    assert np.abs(out[40:, :].astype(int) - read_image(src)[40:, :]).mean() < 8

    folder = tmp_path / 'photos'
    for i, has_face in enumerate([True, False]):
        p = str(folder / 'sub' / f'p{i}.png')
        save(p, textured(i))
        sidecar(p, [has_face])
    rep = anonymize_dataset(str(folder), str(tmp_path / 'photos_anon'), **KW)
    assert rep['summary']['kinds'] == {'image': 2} and rep['summary']['ok'] == 2
    assert rep['summary']['unknown'] == 2  # the two sidecars, listed
    assert sorted(os.listdir(tmp_path / 'photos_anon' / 'sub')) == ['p0.png', 'p1.png']
    p0 = read_image(str(tmp_path / 'photos_anon' / 'sub' / 'p0.png'))
    p1 = read_image(str(tmp_path / 'photos_anon' / 'sub' / 'p1.png'))
    assert face_hidden(p0) and not face_hidden(p1)
    np.testing.assert_array_equal(p1, textured(1))  # PNG: lossless, nothing to hide


def test_rawframes_written_back_with_temporal_support(tmp_path):
    """A rawframes folder is one video: with carry=1 the face found in frame 3 only is also
    hidden in frames 2 and 4; the output keeps the layout and names."""
    src = tmp_path / 'rawframes'
    names = [f'img_{i:05d}.jpg' for i in range(1, 7)]
    for i, n in enumerate(names):
        save(str(src / 'v1' / n), textured(i))
    save(str(src / 'v2' / 'img_00001.jpg'), textured(9))
    sidecar(str(src / 'v1'), [i == 2 for i in range(6)])
    sidecar(str(src / 'v2'), [True])
    dst = tmp_path / 'anon'
    rep = anonymize_dataset(str(src), str(dst), carry=1, **KW)
    assert rep['summary']['kinds'] == {'rawframes': 2} and rep['summary']['ok'] == 2
    assert sorted(os.listdir(dst / 'v1')) == names
    hidden = [face_hidden(read_image(str(dst / 'v1' / n))) for n in names]
    assert hidden == [False, True, True, True, False, False]
    rec = rep['videos']['v1']
    assert (rec['kind'], rec['frames'], rec['instances'], rec['carried_frames']) == (
        'rawframes', 6, 1, 2)
    assert not [f for f in os.listdir(dst) if f.startswith('.') and f != '.anonymize_state']
    # resume: nothing redone; a rawframes folder given directly is one item, written in place
    mtime = osp.getmtime(dst / 'v1' / names[0])
    assert anonymize_dataset(str(src), str(dst), carry=1, **KW)['summary']['resumed'] == 2
    assert osp.getmtime(dst / 'v1' / names[0]) == mtime
    rep = anonymize_dataset(str(src / 'v2'), str(tmp_path / 'single_v2'), **KW)
    assert rep['videos']['v2']['kind'] == 'rawframes'
    assert face_hidden(read_image(str(tmp_path / 'single_v2' / 'img_00001.jpg')))


def test_a_folder_without_inputs_is_an_error(tmp_path):
    (tmp_path / 'in').mkdir()
    (tmp_path / 'in' / 'readme.txt').write_text('x')
    with pytest.raises(ValueError, match=r'no video, image or rawframes.*1 other files'):
        anonymize_dataset(str(tmp_path / 'in'), str(tmp_path / 'out'), **KW)
    with pytest.raises(FileNotFoundError, match='missing'):
        anonymize_dataset(str(tmp_path / 'missing'), str(tmp_path / 'out'), **KW)


def test_shards_cover_every_input_exactly_once_and_resume(tmp_path):
    src, dst = tmp_path / 'in', tmp_path / 'out'
    rels = [f'c{i % 2}/v{i}.mp4' for i in range(7)]
    for i, r in enumerate(rels):
        square_video(str(src / r), n=2, seed=i)
    with pytest.raises(ValueError, match='0 <= K < N'):
        parse_shard('3/3')
    assert parse_shard(' 2/3') == (2, 3)
    done = []
    for k in range(3):
        rep = anonymize_dataset(str(src), str(dst), shard=(k, 3), **KW)
        assert rep['report_path'].endswith(f'anonymize_report.shard-{k}-of-3.json')
        assert all(r['status'] == 'ok' for r in rep['videos'].values())
        done += list(rep['videos'])
        assert sorted(rep['videos']) == sorted(r for r in rels if in_shard(r, (k, 3)))
    assert sorted(done) == sorted(rels)  # each exactly once
    # a shard rerun resumes its own; the unsharded run afterwards resumes all, whole report
    assert anonymize_dataset(str(src), str(dst), shard=(1, 3), **KW)['summary']['ok'] == \
        sum(in_shard(r, (1, 3)) for r in rels)
    rep = anonymize_dataset(str(src), str(dst), **KW)
    assert rep['summary']['resumed'] == rep['summary']['ok'] == 7
    assert osp.isfile(dst / 'anonymize_report.json')


def test_rerun_cleans_what_a_killed_run_left_and_modes_follow_the_umask(tmp_path):
    src, dst = tmp_path / 'in', tmp_path / 'out'
    square_video(str(src / 'a.mp4'), n=3)
    square_video(str(src / 'b.mp4'), n=3, seed=1)
    save(str(src / 'p.jpg'), textured(0))
    sidecar(str(src / 'p.jpg'), [True])
    for f in ('a.mp4', 'p.jpg'):
        os.chmod(src / f, 0o644)
    # what `kill -9` during a.mp4 leaves: the writer's temporary video (never closed) and a
    # temporary state file
    w = VideoWriter(str(dst / 'a.mp4'), 25, 64, 48)
    w.write(np.zeros((48, 64, 3), np.uint8))
    stale = [w.tmp, str(dst / '.anonymize_state' / '.a.mp4.json.abcd1234.tmp')]
    os.makedirs(osp.dirname(stale[1]))
    open(stale[1], 'w').close()
    old = os.umask(0o022)
    try:
        rep = anonymize_dataset(str(src), str(dst), **KW)
    finally:
        os.umask(old)
    assert rep['summary']['ok'] == 3
    assert not [p for p in stale if osp.exists(p)]
    assert sorted(os.listdir(dst)) == ['.anonymize_state', 'a.mp4', 'anonymize_report.json',
                                       'b.mp4', 'p.jpg']
    for f in ('a.mp4', 'b.mp4', 'p.jpg', 'anonymize_report.json', '.anonymize_state/a.mp4.json'):
        assert mode(dst / f) == 0o644, f
