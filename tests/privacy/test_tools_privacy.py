"""Command-line tools, the real shared videos (zero residual faces) and the client-server project."""
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import REPO, shared
from tests.privacy.conftest import square_video, write_video

PY = sys.executable


def run(*args):
    p = subprocess.run([PY, *args], cwd=REPO, capture_output=True, text=True, timeout=600)
    return p.returncode, p.stdout, p.stderr


def run_tool(tool, *args):
    """``tools/anonymize.py`` / ``tools/privacy_audit.py`` run in this process: their ``main(argv)``
    with stdout / stderr captured, ``SystemExit`` (argparse) as the exit status. Same output as
    the command line without a new interpreter importing torch and mediapipe per call (the real
    command line is run by ``test_real_videos_audit_to_zero_residual_faces``)."""
    import contextlib
    import io
    import runpy
    main = runpy.run_path(osp.join(REPO, tool), run_name='tool_under_test')['main']
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([str(a) for a in args])
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
    return code, out.getvalue(), err.getvalue()


def test_anonymize_and_audit_tools_on_generated_data(tmp_path):
    src, dst = tmp_path / 'in', tmp_path / 'out'
    (src / 'walk').mkdir(parents=True)
    square_video(str(src / 'walk' / 'a.mp4'), n=4)
    (src / 'walk' / 'broken.avi').write_bytes(b'')
    code, out, err = run_tool('tools/anonymize.py', str(src), str(dst), '--level', 'face',
                              '--detector', '{"type": "BoxFileDetector"}', '--method', 'pixelate')
    assert code == 1 and 'broken.avi' in err  # a skipped video sets the exit status
    rep = json.load(open(dst / 'anonymize_report.json'))
    assert rep['summary']['ok'] == 1 and rep['summary']['skipped'] == 1
    assert osp.isfile(dst / 'walk' / 'a.mp4')
    code, out, err = run_tool('tools/privacy_audit.py', str(dst), '--out', str(tmp_path / 'a.json'),
                              '--plot', str(tmp_path / 'a.png'), '--no-body',
                              '--max-residual-faces', '0')
    assert code == 0, err
    audit = json.load(open(tmp_path / 'a.json'))
    assert audit['summary']['faces'] == 0 and osp.getsize(tmp_path / 'a.png') > 0
    # on the originals (box-file faces in all 4 frames) the flagged frames come out as pictures
    os.remove(src / 'walk' / 'broken.avi')
    code, out, err = run_tool('tools/privacy_audit.py', str(src), '--out', str(tmp_path / 'b.json'),
                              '--no-body', '--face-detector', '{"type": "BoxFileDetector"}',
                              '--show-dir', str(tmp_path / 'flagged'), '--max-residual-faces', '0')
    assert code == 1, err  # 4 faces > 0
    assert '4 flagged frames written' in out
    assert sorted(os.listdir(tmp_path / 'flagged' / 'walk' / 'a.mp4')) == [
        f'{i:06d}.jpg' for i in range(4)]


def test_tools_fail_on_missing_empty_or_unreadable_input(tmp_path):
    """No exit 0 and no traceback when the input is missing or misspelt, holds no video, or a
    video could not be audited; unknown files are listed with their count."""
    empty = tmp_path / 'empty'
    empty.mkdir()
    (empty / 'notes.txt').write_text('x')
    code, out, err = run_tool('tools/anonymize.py', str(tmp_path / 'misspelt'), str(tmp_path / 'o'))
    assert code == 2 and 'misspelt does not exist' in err and 'Traceback' not in err
    code, out, err = run_tool('tools/anonymize.py', str(empty), str(tmp_path / 'o'))
    assert code == 2 and 'no video, image or rawframes' in err and 'Traceback' not in err
    code, out, err = run_tool('tools/privacy_audit.py', str(tmp_path / 'misspelt'), '--out',
                              str(tmp_path / 'x.json'), '--max-residual-faces', '0')
    assert code == 2 and 'does not exist' in err and 'Traceback' not in err
    code, out, err = run_tool('tools/privacy_audit.py', str(empty), '--out',
                              str(tmp_path / 'x.json'),
                              '--max-residual-faces', '0')
    assert code == 2 and 'no video found' in err
    # one readable video (its box file says: no face), one unreadable, one truncated, one unknown
    src = tmp_path / 'in'
    src.mkdir()
    square_video(str(src / 'a.mp4'), n=3, sidecar=False)
    write_video(str(src / 'half.avi'), list(np.random.default_rng(0).integers(
        0, 256, (30, 48, 64, 3), dtype=np.uint8)))  # noise: large frames, a tiny header
    for name, n in (('a.mp4', 3), ('half.avi', 30)):
        with open(src / (name + '.boxes.json'), 'w') as f:
            json.dump({'frames': [[]] * n}, f)  # no face
    (src / 'broken.mp4').write_bytes(b'\x00not a video' * 20)
    with open(src / 'half.avi', 'r+b') as f:
        f.truncate(osp.getsize(src / 'half.avi') // 2)
    code, out, err = run_tool('tools/privacy_audit.py', str(src), '--out', str(tmp_path / 'a.json'),
                              '--no-body', '--face-detector', '{"type": "BoxFileDetector"}',
                              '--max-residual-faces', '0')
    rep = json.load(open(tmp_path / 'a.json'))
    assert code == 1 and rep['summary']['faces'] == 0, err
    assert [x['video'] for x in rep['skipped']] == ['broken.mp4']
    assert [x['video'] for x in rep['incomplete']] == ['half.avi']
    assert rep['unknown'] == ['a.mp4.boxes.json', 'half.avi.boxes.json']
    assert rep['summary']['unknown'] == 2
    assert '2 of 3 listed videos were not audited' in err and 'Traceback' not in err
    # anonymize: the report says where it is, lists the unknown file, flags the truncated video
    code, out, err = run_tool('tools/anonymize.py', str(src), str(tmp_path / 'anon'), '--detector',
                              '{"type": "BoxFileDetector"}')
    report = str(tmp_path / 'anon' / 'anonymize_report.json')
    assert code == 1 and f'report: {report}' in out
    assert '2 files of unknown type not processed: a.mp4.boxes.json, half.avi.boxes.json' in err
    rep = json.load(open(report))
    assert rep['videos']['half.avi']['status'] == 'skipped' and rep['summary']['ok'] == 1


def test_demo_help_is_complete():
    code, out, err = run('demo/privacy_kd_demo.py', '--help')
    assert code == 0, err
    text = ' '.join(out.split())
    assert 'on generated videos, through the user-facing tools.' in text
    assert 'delete the work dir to start over).' in text


#: frames of each shared video in the real-clip test (the street video has 5); every frame of the
#: whole videos is audited by ``benchmarks/audit_shared_videos.py`` (face and body level)
CLIP_FRAMES = 8


@pytest.fixture(scope='module')
def real_clips(tmp_path_factory):
    """The first :data:`CLIP_FRAMES` frames of every shared real video, each written at its own
    frame rate (H.264) under the video's name: real footage, short enough to anonymise and audit
    every frame in the test suite."""
    src = shared('videos')
    from vidplugins.privacy.anonymizer import list_videos, probe_video, read_frames
    folder = tmp_path_factory.mktemp('real_clips')
    videos = list_videos(src)
    for v in videos:
        frames = [f for _, f in zip(range(CLIP_FRAMES), read_frames(osp.join(src, v)))]
        name = osp.splitext(v)[0] + '.mp4'
        write_video(str(folder / name), frames, probe_video(osp.join(src, v))['fps'])
    return str(folder)


def test_real_videos_audit_to_zero_residual_faces(tmp_path, real_clips):
    """Anonymise clips of the shared real videos with the tool (face level, defaults) and audit
    every frame with the independent auditor: zero residual faces, while the auditor does see
    faces in the inputs. Faces before / after are written to ``faces_before_after.json`` and
    printed."""
    from vidplugins.privacy.anonymizer import list_videos, probe_video
    from vidplugins.privacy.audit import AUDIT_DETECTORS, audit_dataset, audit_video
    from vidplugins.privacy.detectors import build_detector
    src, dst = real_clips, str(tmp_path / 'anon')
    code, out, err = run('tools/anonymize.py', src, dst, '--level', 'face', '--workers', '2')
    assert code == 0, err
    rep = json.load(open(osp.join(dst, 'anonymize_report.json')))
    videos = list_videos(src)
    assert videos and rep['summary']['ok'] == len(videos)  # whatever real files are there
    assert rep['summary']['whole_frames'] == 0
    for v in videos:
        a, b = probe_video(osp.join(src, v)), probe_video(osp.join(dst, v))
        assert a['fps'] == b['fps'] and rep['videos'][v]['frames'] == (b['frames'] or
                                                                         rep['videos'][v]['frames'])
    # the auditor on the input: the close-up make-up clip (a face in every frame) suffices to show
    # that it sees faces; every output frame of every clip is audited
    closeup = 'mmaction2_tests_data_test.mp4'
    before = audit_video(osp.join(src, closeup), build_detector(AUDIT_DETECTORS['face']), False)
    after = audit_dataset(dst, stride=1, body_detector=False, progress=False, keep_boxes=True)
    table = {v: dict(auditor_before=before['faces'] if v == closeup else None,
                     auditor_after=after['videos'][v]['faces'],
                     anonymiser_instances=rep['videos'][v]['instances'],
                     whole_frames=rep['videos'][v]['whole_frames'],
                     frames=rep['videos'][v]['frames']) for v in videos}
    with open(tmp_path / 'faces_before_after.json', 'w') as f:
        json.dump(table, f, indent=1)
    print(json.dumps(table, indent=1))
    # every frame audited
    assert after['summary']['frames'] == sum(rep['videos'][v]['frames'] for v in videos)
    assert after['summary']['faces'] == 0, after['videos']
    # the auditor does see faces in the originals: the close-up make-up clip has one per frame
    assert before['frames'] == CLIP_FRAMES and before['faces'] >= CLIP_FRAMES // 2, table
    assert rep['videos'][closeup]['instances'] >= CLIP_FRAMES, table


TINY_RECOGNIZER = dict(
    type='Recognizer3D',
    backbone=dict(type='ResNet3d', depth=18, pretrained=None, pretrained2d=False, base_channels=8,
                  conv1_kernel=(1, 7, 7), inflate=(0, 0, 0, 0), norm_eval=False),
    cls_head=dict(type='I3DHead', num_classes=5, in_channels=64, average_clips='prob'),
    data_preprocessor=dict(type='ActionDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], format_shape='NCTHW'))


def test_client_server_only_sees_obfuscated_frames(tmp_path, astronaut_video):
    import torch
    from mmengine.config import Config
    sys.path.insert(0, osp.join(REPO, 'projects', 'privacy_client_server'))
    try:
        import privacy_cs
    finally:
        sys.path.pop(0)
    from mmaction.registry import MODELS
    from mmengine.registry import DefaultScope
    cfg = Config(dict(model=TINY_RECOGNIZER, default_scope='mmaction'))
    cfg_path = str(tmp_path / 'tiny_recognizer.py')
    cfg.dump(cfg_path)
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmaction'):
        model = MODELS.build(cfg.model)
    ckpt = str(tmp_path / 'tiny.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), ckpt)

    service = privacy_cs.RecognizerService(cfg_path, ckpt, input_size=32, keep_received=True)
    server = privacy_cs.make_server(service, port=0)
    privacy_cs.serve_in_thread(server)
    try:
        url = f'http://127.0.0.1:{server.server_address[1]}'
        _, frames = astronaut_video
        client = privacy_cs.PrivacyClient(url, level='face', carry=0)
        answer = client.predict(np.stack(frames))
    finally:
        server.shutdown()
        server.server_close()
    assert len(answer['scores']) == 5 and abs(sum(answer['scores']) - 1) < 1e-4
    (received,) = service.received
    assert received.shape == np.stack(frames).shape
    # the astronaut's face (mediapipe box near x 54-87, y 21-55 in frame 0, shifting 2 px / frame)
    for t, (orig, got) in enumerate(zip(frames, received)):
        face = (slice(25, 50), slice(60 + 2 * t, 82 + 2 * t))
        assert np.abs(got[face].astype(int) - orig[face]).mean() > 8, t
        # away from the face the client sends the frame as is
        np.testing.assert_array_equal(got[120:, :40], orig[120:, :40])
    with pytest.raises(ValueError, match='uint8'):
        privacy_cs.encode_clip(np.zeros((2, 4, 4, 3), np.float32))


def test_client_server_errors_are_one_line(tmp_path):
    """A missing or bad video, a server that is not there and a model that fails give a message
    naming the file / URL, not a traceback; the server keeps serving after a failure."""
    import socket
    sys.path.insert(0, osp.join(REPO, 'projects', 'privacy_client_server'))
    try:
        import privacy_cs
    finally:
        sys.path.pop(0)
    from vidplugins.privacy.detectors import Detections

    def failing_model(frames):
        raise RuntimeError('shape mismatch in the head')
    server = privacy_cs.make_server(failing_model, port=0)
    privacy_cs.serve_in_thread(server)
    try:
        url = f'http://127.0.0.1:{server.server_address[1]}'
        client = privacy_cs.PrivacyClient(url, carry=0, detector=lambda f: Detections.empty())
        assert client.ping() == {'ok': True}
        for _ in range(2):
            with pytest.raises(privacy_cs.ServiceError,
                               match='answered 500: the model failed.*shape mismatch'):
                client.predict(np.zeros((2, 8, 8, 3), np.uint8))
    finally:
        server.shutdown()
        server.server_close()
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        closed = s.getsockname()[1]
    tool = osp.join('projects', 'privacy_client_server', 'privacy_cs.py')
    video = str(tmp_path / 'v.mp4')
    square_video(video, n=2, sidecar=False)
    (tmp_path / 'bad.mp4').write_bytes(b'\x00junk' * 10)
    for args, message in (([str(tmp_path / 'missing.mp4')], 'missing.mp4: no such file'),
                          ([str(tmp_path / 'bad.mp4')], 'bad.mp4: cannot open'),
                          ([video, '--url', f'http://127.0.0.1:{closed}', '--frames', '2'],
                           f'cannot reach the server at http://127.0.0.1:{closed}')):
        code, out, err = run(tool, 'send', *args)
        assert code == 1 and message in err and 'Traceback' not in err, err
