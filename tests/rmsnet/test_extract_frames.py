"""tools/data/soccernet/extract_frames.py never fails silently (issue 10, item 9): a video
without frames is not recorded as done, failed image writes fail the half, frames without a
timestamp are counted and reported."""
import os.path as osp
import subprocess
import sys
import types

import numpy as np

from tests.conftest import REPO, load_script

TOOL = osp.join(REPO, 'tools', 'data', 'soccernet', 'extract_frames.py')


def load_tool():
    return load_script(TOOL, name='extract_frames_tool')


def write_video(path, num_frames, fps=4):
    """A small MPEG-4 video of ``num_frames`` frames."""
    import av
    with av.open(str(path), 'w') as out:
        stream = out.add_stream('mpeg4', rate=fps)
        stream.width, stream.height, stream.pix_fmt = 32, 24, 'yuv420p'
        for i in range(num_frames):
            img = np.full((24, 32, 3), 20 * i, np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format='rgb24')):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def write_video_without_frames(path):
    """A Matroska file cut right after its header: it opens, has a video stream, and decodes to
    no frame without an error (what a download cut short looks like)."""
    import av
    full = path.with_suffix('.full.mkv')
    write_video(full, 8)
    data = full.read_bytes()
    full.unlink()
    for cut in range(64, len(data), 8):
        path.write_bytes(data[:cut])
        try:
            with av.open(str(path)) as container:
                if container.streams.video and not any(
                        True for _ in container.decode(container.streams.video[0])):
                    return
        except (OSError, av.error.FFmpegError):     # header incomplete: cut further on
            continue
    raise AssertionError('no cut of the test video decodes to zero frames')


def test_video_without_frames_fails_and_is_not_recorded_as_done(tmp_path):
    game = tmp_path / 'league' / 'season' / 'game'
    game.mkdir(parents=True)
    write_video_without_frames(game / '1_224p.mkv')
    cmd = [sys.executable, TOOL, str(tmp_path), '--video', '224p.mkv', '--size', '12', '16',
           '--workers', '1']
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert '1 failed' in proc.stdout and 'no frame decoded' in proc.stdout
    assert not (game / '1_frames_12x16').exists()             # a re-run tries it again
    assert not (game / '1_frames_12x16.partial').exists()


def test_failed_image_write_fails_the_half(tmp_path, monkeypatch, capsys):
    tool = load_tool()
    video = tmp_path / '1_224p.mp4'
    write_video(video, 8)                                      # 2 s at 4 fps
    out_dir = str(tmp_path / '1_frames_12x16')
    _, ok = tool.extract_half((str(video), out_dir, (12, 16), 2.0))
    assert ok['status'] == 'written' and ok['frames'] == 4 and ok['no_timestamp'] == 0
    monkeypatch.setattr(tool.cv2, 'imwrite', lambda *a, **k: False)
    bad_dir = str(tmp_path / '1_frames_10x10')
    result = tool.extract_half((str(video), bad_dir, (10, 10), 2.0))
    assert result[1]['status'] == 'error' and 'cv2.imwrite failed' in result[1]['error']
    assert not osp.exists(bad_dir)
    assert tool.report([(str(video), ok), result], 2) == 1
    assert '1 failed' in capsys.readouterr().out


class _Frame:
    def __init__(self, time):
        self.time = time

    def to_ndarray(self, format):
        return np.zeros((24, 32, 3), np.uint8)


class _Container:
    def __init__(self, times):
        self.times = times
        self.streams = types.SimpleNamespace(video=['stream'])

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def decode(self, stream):
        return (_Frame(t) for t in self.times)


def test_frames_without_timestamps_are_counted_and_reported(tmp_path, monkeypatch, capsys):
    tool = load_tool()
    times = [0.0, None, 0.5, None, 1.0, 1.5]                  # 2 of 6 frames without a time
    monkeypatch.setitem(sys.modules, 'av',
                        types.SimpleNamespace(open=lambda path: _Container(times)))
    out_dir = str(tmp_path / 'frames')
    video, result = tool.extract_half(('v.mkv', out_dir, (12, 16), 2.0))
    assert result == dict(status='written', frames=4, no_timestamp=2, error=None)
    assert tool.report([(video, result)], 1) == 0
    out = capsys.readouterr().out
    assert '2 frames without a timestamp skipped' in out and 'v.mkv: 2 frames' in out
    # Only frames without a timestamp: no frame written, the half fails.
    monkeypatch.setitem(sys.modules, 'av',
                        types.SimpleNamespace(open=lambda path: _Container([None, None])))
    _, result = tool.extract_half(('w.mkv', str(tmp_path / 'frames2'), (12, 16), 2.0))
    assert result['status'] == 'error' and '2 without' in result['error']
