"""Fail-closed policy, temporal carry, video I/O and resumable dataset runs."""
import json
import os
from fractions import Fraction

import numpy as np
import pytest

from tests.privacy.conftest import square_video, write_video
from vidplugins.privacy.anonymizer import (FrameAnonymizer, VideoReadError, anonymize_dataset,
                                           anonymize_frames, anonymize_video, probe_video,
                                           read_frames)
from vidplugins.privacy.detectors import Detections


class Fixed:
    """A detector returning a fixed answer (or raising it)."""

    def __init__(self, out):
        self.out = out

    def __call__(self, frame):
        if isinstance(self.out, BaseException):
            raise self.out
        return self.out


def frame(seed=0):
    return np.random.default_rng(seed).integers(0, 256, (40, 40, 3), dtype=np.uint8)


def det(boxes, scores):
    return Detections(np.asarray(boxes, np.float32).reshape(-1, 4), np.asarray(scores, np.float32))


def test_accepted_boxes_are_obfuscated_enlarged_and_the_rest_untouched():
    img = frame()
    a = FrameAnonymizer(Fixed(det([[10, 10, 20, 20]], [0.9])), enlarge=0.1, method='solid')
    out, res = a(img)
    # 10 px box + 1 px on each side -> 12 x 12
    assert res.region.sum() == 144 and not res.whole and res.instances == 1
    assert (out[9:21, 9:21] == 0).all() and (out[~res.region] == img[~res.region]).all()


def test_no_detection_is_legitimate():
    img = frame()
    out, res = FrameAnonymizer(Fixed(Detections.empty()), method='solid')(img)
    np.testing.assert_array_equal(out, img)
    assert not res.whole and res.instances == 0


@pytest.mark.parametrize('out,reason', [
    (RuntimeError('boom'), 'detector_error'),
    (det([[0, 0, 5, 5]], [1.7]), 'malformed'),
    (Detections(np.array([[0, 0, np.nan, 5]]), np.ones(1)), 'malformed'),
    ('not detections', 'malformed'),
    (det([[5, 5, 15, 15]], [0.4]), 'unsure'),
])
def test_fail_closed_whole_frame(out, reason):
    img = frame()
    o, res = FrameAnonymizer(Fixed(out), accept_thr=0.5, unsure_thr=0.3, method='solid')(img)
    assert res.whole and res.reason == reason
    assert (o == 0).all()


def test_unsure_band_edges_and_duplicates():
    img = frame()
    # below unsure_thr: noise, ignored; == accept_thr: accepted
    _, res = FrameAnonymizer(Fixed(det([[5, 5, 15, 15]], [0.29])), unsure_thr=0.3)(img)
    assert not res.whole and res.instances == 0
    _, res = FrameAnonymizer(Fixed(det([[5, 5, 15, 15]], [0.5])), accept_thr=0.5)(img)
    assert not res.whole and res.instances == 1
    # an unsure box inside an accepted one is a duplicate, not a doubt
    d = det([[5, 5, 25, 25], [6, 6, 24, 24]], [0.9, 0.4])
    _, res = FrameAnonymizer(Fixed(d), enlarge=0.0)(img)
    assert not res.whole and res.unsure == 1
    # unsure_action='region' obfuscates the doubtful box instead of the frame
    _, res = FrameAnonymizer(Fixed(det([[30, 30, 35, 35]], [0.4])), unsure_action='region',
                             enlarge=0.0)(img)
    assert not res.whole and res.region.sum() == 25


def test_person_without_face_gets_its_head_region():
    img = frame()
    person = Fixed(det([[0, 0, 20, 40]], [0.9]))
    a = FrameAnonymizer(Fixed(Detections.empty()), person_cue=person, enlarge=0.0,
                        head_fraction=0.25)
    _, res = a(img)
    # top 25 % of a 20 x 40 person box: 20 x 10 pixels
    assert res.head_fallbacks == 1 and res.region.sum() == 200 and res.region[:10, :20].all()
    # a face inside the person: nothing added
    a = FrameAnonymizer(Fixed(det([[5, 2, 15, 12]], [0.9])), person_cue=person, enlarge=0.0)
    _, res = a(img)
    assert res.head_fallbacks == 0 and res.region.sum() == 100
    a = FrameAnonymizer(Fixed(Detections.empty()), person_cue=person, person_action='frame')
    assert a(img)[1].reason == 'person_no_face'
    a = FrameAnonymizer(Fixed(Detections.empty()), person_cue=Fixed(ValueError('x')))
    assert a(img)[1].reason == 'detector_error'


def test_face_pass_region_is_the_face_level_decision():
    """Given fixed detections, the default face level's decide() and the body level's face pass
    (face_pass_region) give the same region: accepted (0.9) and unsure (0.4) faces, not the
    noise-floor one (0.2), enlarged 5 % per end; the head (top 25 %) of the cue person holding
    only an unsure face's centre; nothing for the person holding the accepted face's centre nor
    for the one under person_thr (0.6 < 0.7)."""
    from vidplugins.privacy.anonymizer import face_level_policy
    from vidplugins.privacy.obfuscation import boxes_to_mask
    img = np.random.default_rng(3).integers(0, 256, (200, 200, 3), dtype=np.uint8)
    faces = det([[40, 40, 60, 60], [120, 20, 140, 40], [150, 150, 160, 160]], [0.9, 0.4, 0.2])
    persons = det([[30, 30, 80, 150], [100, 10, 180, 130], [5, 100, 25, 190]], [0.9, 0.8, 0.6])
    a = FrameAnonymizer(level='face')  # the defaults, then fixed detectors in place of its own
    assert a.policy == face_level_policy()
    a.detector = Fixed(faces)
    for cue, want_boxes in ((persons, [[40, 40, 60, 60], [120, 20, 140, 40], [100, 10, 180, 40]]),
                            (None, [[40, 40, 60, 60], [120, 20, 140, 40]])):
        a.person_cue = None if cue is None else Fixed(cue)
        res = a.decide(img)
        want = boxes_to_mask(want_boxes, (200, 200), 0.05)
        assert not res.whole and (res.instances, res.unsure) == (1, 1)
        assert res.head_fallbacks == (cue is not None) and (res.region == want).all()
        assert (FrameAnonymizer.face_pass_region(faces, cue, img.shape) == res.region).all()


def test_bad_settings_fail_at_construction():
    with pytest.raises(ValueError, match='unsure_thr'):
        FrameAnonymizer(Fixed(Detections.empty()), accept_thr=0.2, unsure_thr=0.5)
    with pytest.raises(KeyError, match='swirl'):
        FrameAnonymizer(Fixed(Detections.empty()), method='swirl')
    with pytest.raises(ValueError, match='level'):
        FrameAnonymizer(Fixed(Detections.empty()), level='hands')


class Sequence:
    """Frame i -> boxes[i]."""

    def __init__(self, per_frame):
        self.per_frame, self.i = per_frame, 0

    def seek(self, i):
        self.i = i

    def __call__(self, frame):
        out = self.per_frame[self.i]
        self.i += 1
        return out


@pytest.mark.parametrize('carry,expected', [(0, [0, 0, 1, 0, 0]), (1, [0, 1, 1, 1, 0]),
                                            (3, [1, 1, 1, 1, 1])])
def test_temporal_carry_covers_neighbours(carry, expected):
    frames = [frame(i) for i in range(5)]
    per = [Detections.empty()] * 5
    per[2] = det([[10, 10, 20, 20]], [0.9])
    a = FrameAnonymizer(Sequence(per), enlarge=0.0, method='solid')
    outs = list(anonymize_frames(frames, a, carry))
    assert len(outs) == 5
    hidden = [int((o[10:20, 10:20] == 0).all()) for o, _, _ in outs]
    assert hidden == expected
    assert [c for _, _, c in outs] == [bool(e) and i != 2 for i, e in enumerate(expected)]


def test_video_round_trip_keeps_count_and_rate(tmp_path):
    src = str(tmp_path / 'in' / 'clip.mp4')
    os.makedirs(os.path.dirname(src))
    fps = Fraction(30000, 1001)
    frames = square_video(src, n=9, fps=fps)
    dst = str(tmp_path / 'out' / 'clip.mp4')
    a = FrameAnonymizer(dict(type='BoxFileDetector'), enlarge=0.0, method='solid')
    rec = anonymize_video(src, dst, a)
    info = probe_video(dst)
    assert info['fps'] == fps and rec['frames'] == 9 and rec['instances'] == 9
    out = list(read_frames(dst))
    assert len(out) == 9
    # face box (16, 8, 40, 32) painted black; the textured background survives H.264
    assert out[4][8:32, 16:40].mean() < 10
    bg = np.ones((48, 64), bool)
    bg[4:36, 12:44] = False
    assert np.abs(out[4][bg].astype(int) - frames[4][bg]).mean() < 15
    assert not [f for f in os.listdir(tmp_path / 'out') if f.startswith('.')]


def test_interrupted_video_leaves_no_file(tmp_path):
    src = str(tmp_path / 'clip.mp4')
    square_video(src, n=6, sidecar=False)

    class Interrupt:
        n = 0

        def __call__(self, f):
            self.n += 1
            if self.n == 4:
                raise KeyboardInterrupt
            return Detections.empty()
    out_dir = tmp_path / 'out'
    with pytest.raises(KeyboardInterrupt):
        anonymize_video(src, str(out_dir / 'clip.mp4'), FrameAnonymizer(Interrupt()))
    assert os.listdir(out_dir) == []  # neither the video nor its temporary file


def test_max_whole_ratio_fails_the_video(tmp_path):
    src = str(tmp_path / 'clip.mp4')
    square_video(src, n=4, sidecar=False)
    rec = anonymize_video(src, str(tmp_path / 'o.mp4'), FrameAnonymizer(Fixed(RuntimeError('x'))),
                          max_whole_ratio=0.5)
    assert rec['status'] == 'failed' and rec['whole_frames'] == 4 and 'o.mp4' not in os.listdir(
        tmp_path)
    assert rec['whole_reasons'] == {'detector_error': 4}


def test_dataset_mirror_skips_bad_files_and_resumes(tmp_path):
    src, dst = tmp_path / 'in', tmp_path / 'out'
    (src / 'a').mkdir(parents=True)
    (src / 'b').mkdir()
    square_video(str(src / 'a' / 'v1.mp4'), n=5)
    square_video(str(src / 'a' / 'v2.avi'), n=4, seed=1)
    square_video(str(src / 'b' / 'v3.mp4'), n=3, fps=Fraction(24), seed=2)
    (src / 'b' / 'empty.mp4').write_bytes(b'')
    (src / 'b' / 'junk.mp4').write_bytes(b'\x00not a video' * 50)
    kw = dict(level='face', detector=dict(type='BoxFileDetector'), progress=False)
    rep = anonymize_dataset(str(src), str(dst), workers=2, **kw)
    s = rep['summary']
    assert (s['videos'], s['ok'], s['skipped'], s['failed'], s['frames']) == (5, 3, 2, 0, 12)
    assert 'empty.mp4' in rep['videos']['b/empty.mp4']['error']
    assert 'junk.mp4' in rep['videos']['b/junk.mp4']['error']
    assert sorted(os.listdir(dst / 'a')) == ['v1.mp4', 'v2.avi']
    assert probe_video(str(dst / 'b' / 'v3.mp4'))['fps'] == 24
    with open(dst / 'anonymize_report.json') as f:
        assert json.load(f)['summary'] == s
    mtime = os.path.getmtime(dst / 'a' / 'v1.mp4')
    rep2 = anonymize_dataset(str(src), str(dst), **kw)
    assert rep2['summary']['resumed'] == 3 and os.path.getmtime(dst / 'a' / 'v1.mp4') == mtime
    with pytest.raises(RuntimeError, match='other settings'):
        anonymize_dataset(str(src), str(dst), method='pixelate', **kw)
    with pytest.raises(RuntimeError, match='empty.mp4'):
        anonymize_dataset(str(src), str(tmp_path / 'strict'), strict=True, **kw)


def video_with_audio(path, n=50, fps=25, size=(64, 48), rate=16000):
    """An H.264 + AAC mp4: ``n`` textured frames and a 440 Hz tone as long as the video."""
    import av
    w, h = size
    with av.open(path, 'w') as c:
        v = c.add_stream('libx264', rate=fps)
        v.width, v.height, v.pix_fmt = w, h, 'yuv420p'
        a = c.add_stream('aac', rate=rate)
        a.layout = 'mono'
        rng = np.random.default_rng(0)
        for i in range(n):
            img = np.kron(rng.integers(0, 256, (h // 4, w // 4, 3), dtype=np.uint8),
                          np.ones((4, 4, 1), np.uint8))
            vf = av.VideoFrame.from_ndarray(img, format='rgb24')
            vf.pts = i
            for p in v.encode(vf):
                c.mux(p)
        for p in v.encode():
            c.mux(p)
        t = np.arange(rate * n // fps) / rate
        samples = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
        for s0 in range(0, len(samples), 1024):
            af = av.AudioFrame.from_ndarray(samples[None, s0:s0 + 1024], format='fltp',
                                            layout='mono')
            af.sample_rate, af.pts = rate, s0
            for p in a.encode(af):
                c.mux(p)
        for p in a.encode():
            c.mux(p)
    return path


def audio_packets(path):
    import av
    with av.open(path) as c:
        if not c.streams.audio:
            return []
        s = c.streams.audio[0]
        return [(bytes(p), p.pts * p.time_base) for p in c.demux(s) if p.size]


def test_audio_is_copied_unchanged_and_counts_stay_equal(tmp_path):
    """The output keeps the audio stream packet for packet (same bytes, same times), and the
    frame count, frame rate and duration; ``audio=False`` drops it and says so."""
    src = video_with_audio(str(tmp_path / 'talk.mp4'))
    a = FrameAnonymizer(Fixed(det([[8, 8, 24, 24]], [0.9])), method='solid')
    rec = anonymize_video(src, str(tmp_path / 'out.mp4'), a)
    assert rec['audio'] == 'kept' and rec['audio_streams'] == 1
    i, o = probe_video(src), probe_video(str(tmp_path / 'out.mp4'))
    assert (o['frames'], o['fps'], o['audio']) == (i['frames'], i['fps'], 1) == (50, 25, 1)
    assert rec['frames'] == len(list(read_frames(str(tmp_path / 'out.mp4')))) == 50
    assert abs(o['duration'] - i['duration']) < 1 / 25, (o['duration'], i['duration'])
    pin, pout = audio_packets(src), audio_packets(str(tmp_path / 'out.mp4'))
    assert len(pin) > 30 and [b for b, _ in pout] == [b for b, _ in pin]
    assert [t for _, t in pout] == [t for _, t in pin]
    rec = anonymize_video(src, str(tmp_path / 'mute.mp4'), a, audio=False)
    assert rec['audio'] == 'dropped' and probe_video(str(tmp_path / 'mute.mp4'))['audio'] == 0
    assert probe_video(str(tmp_path / 'mute.mp4'))['frames'] == 50


def test_truncated_video_is_reported_not_ok(tmp_path):
    """A half-length AVI decodes fewer frames than its header declares: skipped with both counts,
    nothing written (it used to be 'ok' with half of the frames)."""
    src = str(tmp_path / 'in' / 'clip.avi')
    os.makedirs(os.path.dirname(src))
    noise = np.random.default_rng(0).integers(0, 256, (40, 48, 64, 3), dtype=np.uint8)
    write_video(src, list(noise))  # noise: every frame is large, the header a tiny part
    with open(src + '.boxes.json', 'w') as f:
        json.dump({'frames': [[]] * 40}, f)
    size = os.path.getsize(src)
    with open(src, 'r+b') as f:
        f.truncate(size // 2)
    assert probe_video(src)['frames'] == 40
    n = len(list(read_frames(src)))
    assert 0 < n < 40
    with pytest.raises(VideoReadError, match=f'decoded {n} frames but the container declares 40'):
        anonymize_video(src, str(tmp_path / 'o.avi'), FrameAnonymizer(dict(type='BoxFileDetector')))
    assert not os.path.exists(tmp_path / 'o.avi')
    rep = anonymize_dataset(str(tmp_path / 'in'), str(tmp_path / 'out'), level='face',
                            detector=dict(type='BoxFileDetector'), progress=False)
    assert rep['videos']['clip.avi']['status'] == 'skipped'
    assert 'declares 40' in rep['videos']['clip.avi']['error']
