"""Audit counts and the Fig. 5.3 statistics, by hand."""
import pytest

from tests.privacy.conftest import square_video
from vidplugins.privacy.audit import (audit_dataset, audit_video, class_statistics,
                                      classes_from_list, plot_statistics)


def test_class_statistics_by_hand():
    recs = {'a/1.mp4': dict(faces=0, faces_per_frame=0.0, bodies=4, bodies_per_frame=2.0),
            'a/2.mp4': dict(faces=3, faces_per_frame=1.5, bodies=2, bodies_per_frame=1.0),
            'b/3.mp4': dict(faces=1, faces_per_frame=0.25, bodies=0, bodies_per_frame=0.0)}
    st = class_statistics(recs, {'a/1.mp4': 'a', 'a/2.mp4': 'a', 'b/3.mp4': 'b'})
    assert st['a'] == dict(videos=2, pct_videos_with_faces=50.0, faces_per_frame=0.75,
                           pct_videos_with_bodies=100.0, bodies_per_frame=1.5)
    assert st['b']['pct_videos_with_faces'] == 100.0 and st['b']['pct_videos_with_bodies'] == 0.0


def test_classes_from_list(tmp_path):
    f = tmp_path / 'list.txt'
    f.write_text('x/1.mp4 0\ny/2.mp4 1\n\n')
    assert classes_from_list(str(f), ['run', 'jump']) == {'x/1.mp4': 'run', 'y/2.mp4': 'jump'}
    f.write_text('x/1.mp4 0\nbroken\n')
    with pytest.raises(ValueError, match='list.txt:2'):
        classes_from_list(str(f))


def test_audit_counts_box_file_instances_and_plots(tmp_path):
    root = tmp_path / 'ds'
    (root / 'run').mkdir(parents=True)
    (root / 'jump').mkdir()
    square_video(str(root / 'run' / 'a.mp4'), n=6)
    square_video(str(root / 'jump' / 'b.mp4'), n=4, sidecar=False)
    (root / 'jump' / 'c.mp4').write_bytes(b'garbage')
    rec = audit_video(str(root / 'run' / 'a.mp4'), dict(type='BoxFileDetector'), False, stride=2)
    # frames 0, 2, 4 audited, one box each
    assert (rec['frames'], rec['frames_total'], rec['faces'], rec['faces_per_frame']) == (3, 6, 3, 1.0)
    with open(str(root / 'jump' / 'b.mp4') + '.boxes.json', 'w') as f:
        f.write('{"frames": [[], [], [[0, 0, 4, 4, 0.9], [8, 8, 12, 12, 0.95]], []]}')
    rep = audit_dataset(str(root), face_detector=dict(type='BoxFileDetector'),
                        body_detector=False, progress=False)
    assert rep['summary']['skipped'] == 1 and 'c.mp4' in rep['skipped'][0]['error']
    assert rep['classes']['jump'] == dict(videos=1, pct_videos_with_faces=100.0,
                                          faces_per_frame=0.5)
    png = tmp_path / 'fig53.png'
    plot_statistics(rep['classes'], str(png))
    assert png.read_bytes()[:4] == b'\x89PNG'


def test_draw_flagged_frames_writes_each_flagged_frame_with_its_box(tmp_path):
    """The frames the auditor flagged come out as JPEGs with the box drawn in red (the pixels on
    the box's edge turn red, those inside keep the video's colour); a flag beyond the video's end
    raises naming the file."""
    import cv2
    import numpy as np

    from vidplugins.privacy.anonymizer import VideoReadError
    from vidplugins.privacy.audit import draw_flagged_frames
    video = str(tmp_path / 'a.mp4')
    square_video(video, n=6, sidecar=False)
    out = tmp_path / 'flagged'
    paths = draw_flagged_frames(video, {'4': [[10, 6, 30, 26]], 1: [[0, 0, 8, 8]]}, str(out))
    assert [p[-10:] for p in paths] == ['000001.jpg', '000004.jpg']
    img = cv2.imread(paths[1])[..., ::-1]  # RGB
    assert img.shape == (48, 64, 3)
    edge = img[16, 10].astype(int)  # on the left edge of the box at frame 4
    assert edge[0] > 180 and edge[1] < 90 and edge[2] < 90
    orig = cv2.imread(paths[0])[..., ::-1].astype(int)
    assert np.abs(orig[20, 40] - img[20, 40]).max() < 40  # off the boxes: the frame itself
    with pytest.raises(VideoReadError, match='a.mp4.*\\[9\\]'):
        draw_flagged_frames(video, {9: [[0, 0, 4, 4]]}, str(tmp_path / 'x'))
