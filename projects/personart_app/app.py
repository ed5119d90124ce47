"""PersonArt museum app (thesis App. A.2): a visitor's selfie -> the painted faces that look alike.

    python projects/personart_app/app.py --gallery PAINTINGS_DIR [--config CFG --checkpoint CKPT]
        [--detector mediapipe|dlib|mtcnn|none] [--port 8000]
    python projects/personart_app/app.py --gallery DIR --detector mmdet \
        --det-config FACE_DET_CFG --det-checkpoint FACE_DET_CKPT [--det-classes 0]

FastAPI with a plain HTML page: upload (or take with the camera) a selfie, see the top-k painted
faces with scores (Eq. A.21) and explanation heat-maps (Integrated Gradients, Eq. A.24; occlusion
for the frozen dlib phi, labelled so), mark results relevant / not relevant (Eq. A.22-A.23, kept
per visitor session) and tick attributes the results must have. Bad uploads get a clear message:
non-images, files over the size limit, no face, faces under the minimum size; with several faces
the page asks which one. ``--detector none`` takes every image as one face crop (galleries of
pre-cropped faces such as WikiArt Faces).

Without ``--checkpoint`` the default model is dlib's frozen face embedding with the untrained
(identity) projection, and attributes are off (their branches would be untrained).
"""
import argparse
import base64
import collections
import os
import os.path as osp
import threading
from typing import List, Optional

import numpy as np

HERE = osp.dirname(osp.abspath(__file__))
ROOT = osp.dirname(osp.dirname(HERE))
IMG_EXTS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp')
DEFAULT_CONFIG = osp.join(ROOT, 'configs', 'personart',
                          'personart_dlib-frozen_1xb32-adam1e-5-20e_celeba-style.py')


class WholeImageFace:
    """'Detector' for pre-cropped faces: the whole image is the face."""

    def __call__(self, rgb):
        h, w = rgb.shape[:2]
        return np.array([[0, 0, w, h]], np.float32), np.ones(1, np.float32)


class UserError(Exception):
    """A problem with the visitor's upload: shown to them, the server carries on."""

    def __init__(self, message: str, status: int = 400, **extra):
        super().__init__(message)
        self.status, self.extra = status, extra


def encode_jpeg(rgb: np.ndarray, size: int = 0) -> bytes:
    import cv2
    if size:
        h, w = rgb.shape[:2]
        s = size / max(h, w)
        rgb = cv2.resize(rgb, (max(1, int(w * s)), max(1, int(h * s))))
    ok, buf = cv2.imencode('.jpg', cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return buf.tobytes()


def data_url(rgb: np.ndarray, size: int = 0) -> str:
    return 'data:image/jpeg;base64,' + base64.b64encode(encode_jpeg(rgb, size)).decode()


class PersonArtService:
    """Model + detector + gallery + visitor sessions (the app's state, usable without HTTP).

    Args:
        model: a PersonArt model with phi (eval mode). size: input size of phi.
        gallery_paths: painting files; their faces form the gallery.
        use_attributes: score and filter with attributes (needs trained branches).
    """

    def __init__(self, model, detector, gallery_paths: List[str], size: int = 150,
                 min_size: int = 100, enlarge: float = 0.4, k: int = 8, lam: float = 0.2,
                 use_attributes: bool = True, max_sessions: int = 1000, progress: bool = False):
        from vidplugins.personart.inference import build_gallery_from_images
        self.model, self.detector, self.size = model, detector, size
        self.min_size, self.enlarge, self.k = min_size, enlarge, k
        self.lam = lam if use_attributes else 0.0
        self.use_attributes = use_attributes and model.num_attributes > 0
        self.gallery, self.report = build_gallery_from_images(
            model, gallery_paths, detector, size, min_size, enlarge, progress=progress)
        if not self.use_attributes:
            self.gallery.attributes = None
        self.thumbs = {}
        self.queries = collections.OrderedDict()   # session id -> query crop, bits
        self.max_sessions = max_sessions
        self.lock = threading.Lock()

    # -- gallery --
    def thumbnail(self, i: int) -> bytes:
        from vidplugins.personart.datasets import load_rgb
        if not 0 <= i < len(self.gallery):
            raise UserError(f'no gallery face {i}', 404)
        if i not in self.thumbs:
            m = self.gallery.meta[i]
            x1, y1, x2, y2 = m['box']
            self.thumbs[i] = encode_jpeg(load_rgb(m['path'])[y1:y2, x1:x2], 160)
        return self.thumbs[i]

    # -- queries --
    def read_upload(self, data: bytes, max_bytes: int) -> np.ndarray:
        import cv2
        if not data:
            raise UserError('the upload is empty: choose a photo of your face')
        if len(data) > max_bytes:
            raise UserError(f'the file is too large ({len(data) / 2 ** 20:.1f} MB); the limit is '
                            f'{max_bytes / 2 ** 20:.0f} MB', 413)
        img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        if img is None:
            raise UserError('this file is not an image (JPEG, PNG, BMP or WebP expected)', 415)
        return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)

    def query(self, rgb: np.ndarray, face: Optional[int] = None) -> dict:
        from vidplugins.personart.faces import detect_faces
        from vidplugins.personart.inference import embed_faces
        from vidplugins.personart.model import REAL
        faces, small = detect_faces(rgb, self.detector, self.min_size, self.enlarge)
        if not faces:
            if small:
                raise UserError(f'the face is too small: come closer (faces need at least '
                                f'{self.min_size} px)', 422)
            raise UserError('no face found in this photo', 422)
        if len(faces) > 1 and face is None:
            return dict(status='choose', message=f'{len(faces)} faces found: which one is you?',
                        faces=[dict(index=i, box=f['box'], thumb=data_url(f['crop'], 120))
                               for i, f in enumerate(faces)])
        face = 0 if face is None else int(face)
        if not 0 <= face < len(faces):
            raise UserError(f'face {face} does not exist (0..{len(faces) - 1})')
        crop = faces[face]['crop']
        emb, prob = embed_faces(self.model, [crop], REAL, self.size)
        bits = prob[0] > 0.5 if (prob is not None and self.use_attributes) else None
        with self.lock:
            session = self.gallery.open_session(emb[0], bits)
            self.queries[session.id] = dict(crop=crop, bits=bits)
            while len(self.queries) > self.max_sessions:
                old, _ = self.queries.popitem(last=False)
                self.gallery.close_session(old)
        out = dict(status='ok', session=session.id, query=data_url(crop, 160),
                   faces_found=len(faces))
        out.update(self.ranking(session.id))
        return out

    def _session(self, sid: str):
        if sid not in self.gallery.sessions:
            raise UserError('this session has expired: upload your photo again', 404)
        return self.gallery.sessions[sid]

    def ranking(self, sid: str, constraints: Optional[dict] = None) -> dict:
        session = self._session(sid)
        if constraints and not self.use_attributes:
            raise UserError('attributes are not available with this model')
        ids, scores = session.rank(self.k, self.lam, constraints)
        results = [dict(id=int(i), score=round(float(s), 4), thumb=f'/gallery/{int(i)}.jpg',
                        heatmap=f'/api/explain/{sid}/{int(i)}.jpg',
                        painting=osp.basename(self.gallery.meta[int(i)].get('path', '')))
                   for i, s in zip(ids, scores)]
        attrs = []
        q = self.queries.get(sid, {})
        if self.use_attributes and q.get('bits') is not None:
            attrs = [dict(name=n, query=bool(b)) for n, b in
                     zip(self.gallery.attribute_names, q['bits'])]
        return dict(results=results, iterations=session.state.iterations, attributes=attrs,
                    explanation=('integrated_gradients' if self.model.differentiable
                                 else 'occlusion'))

    def feedback(self, sid: str, positive: int, negative: int, constraints=None) -> dict:
        session = self._session(sid)
        try:
            session.feedback(positive, negative)
        except IndexError as e:
            raise UserError(str(e)) from None
        return self.ranking(sid, constraints)

    def explain(self, sid: str, item: int) -> bytes:
        import torch

        from vidplugins.personart.explain import explain, heatmap_overlay
        import cv2
        session = self._session(sid)
        if not 0 <= item < len(self.gallery):
            raise UserError(f'no gallery face {item}', 404)
        crop = cv2.resize(self.queries[sid]['crop'], (self.size, self.size),
                          interpolation=cv2.INTER_AREA)
        query = torch.from_numpy(crop).permute(2, 0, 1).float()
        emb = torch.from_numpy(session.state.item(item)[None].astype(np.float32))
        bits = None
        if self.use_attributes and self.gallery.attributes is not None:
            bits = torch.from_numpy(self.gallery.attributes[item][None])
        maps, method = explain(self.model, query, emb, bits, lam=self.lam)
        return encode_jpeg(heatmap_overlay(crop, maps[0]), 160)


def create_app(service: PersonArtService, max_upload_bytes: int = 8 << 20):
    from fastapi import FastAPI, File, Form, Request, UploadFile
    from fastapi.responses import HTMLResponse, JSONResponse, Response

    app = FastAPI(title='PersonArt')

    @app.exception_handler(UserError)
    async def user_error(request: Request, exc: UserError):
        return JSONResponse(dict(status='error', message=str(exc), **exc.extra),
                            status_code=exc.status)

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception):
        return JSONResponse(dict(status='error', message=f'server error: {type(exc).__name__}'),
                            status_code=500)

    @app.get('/', response_class=HTMLResponse)
    def index():
        with open(osp.join(HERE, 'index.html')) as f:
            return f.read()

    @app.get('/api/info')
    def info():
        return dict(gallery=len(service.gallery), k=service.k, attributes=service.use_attributes,
                    attribute_names=service.gallery.attribute_names if service.use_attributes
                    else [], explanation='integrated_gradients' if service.model.differentiable
                    else 'occlusion', max_upload_mb=max_upload_bytes / 2 ** 20)

    @app.post('/api/query')
    async def query(file: UploadFile = File(...), face: Optional[int] = Form(None)):
        data = await file.read(max_upload_bytes + 1)
        rgb = service.read_upload(data, max_upload_bytes)
        return service.query(rgb, face)

    @app.post('/api/feedback')
    async def feedback(request: Request):
        body = await _json(request)
        return service.feedback(str(body.get('session')), _int(body, 'positive'),
                                _int(body, 'negative'), body.get('constraints') or None)

    @app.post('/api/rank')
    async def rank(request: Request):
        body = await _json(request)
        return service.ranking(str(body.get('session')), body.get('constraints') or None)

    @app.get('/gallery/{item}.jpg')
    def gallery_face(item: int):
        return Response(service.thumbnail(item), media_type='image/jpeg')

    @app.get('/api/explain/{sid}/{item}.jpg')
    def explanation(sid: str, item: int):
        return Response(service.explain(sid, item), media_type='image/jpeg')

    return app


async def _json(request):
    try:
        body = await request.json()
    except ValueError:
        raise UserError('expected a JSON body') from None
    if not isinstance(body, dict):
        raise UserError('expected a JSON object')
    return body


def _int(body, key):
    try:
        return int(body[key])
    except (KeyError, TypeError, ValueError):
        raise UserError(f'"{key}" must be a gallery item number') from None


def build_model(config: str, checkpoint: Optional[str], cfg_options=None):
    """PersonArt from a config (its ``phi`` is used when the model reads precomputed features)."""
    import torch
    from mmengine.config import Config
    from mmengine.registry import MODELS
    from mmengine.runner import load_checkpoint

    import vidplugins  # noqa: F401
    import vidplugins.personart  # noqa: F401
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    mcfg = cfg.model
    if not mcfg.get('embedder') and cfg.get('phi'):
        mcfg.embedder = cfg.phi
    if not checkpoint:
        mcfg.num_attributes = 0
    model = MODELS.build(mcfg)
    if checkpoint:
        load_checkpoint(model, checkpoint, map_location='cpu', strict=False)
    torch.set_grad_enabled(True)
    return model.eval()


def list_gallery(folder: str) -> List[str]:
    if not osp.isdir(folder):
        raise SystemExit(f'gallery folder not found: {folder}')
    out = []
    for dirpath, _, files in sorted(os.walk(folder)):
        out += [osp.join(dirpath, f) for f in sorted(files) if f.lower().endswith(IMG_EXTS)]
    if not out:
        raise SystemExit(f'no images in {folder}')
    return out


def main(argv=None):
    from mmengine.config import DictAction
    p = argparse.ArgumentParser(description='PersonArt museum app')
    p.add_argument('--gallery', required=True, help='folder of paintings (searched recursively)')
    p.add_argument('--config', default=DEFAULT_CONFIG)
    p.add_argument('--checkpoint')
    p.add_argument('--cfg-options', nargs='+', action=DictAction)
    p.add_argument('--detector', default='mediapipe', choices=['mediapipe', 'dlib', 'mtcnn',
                                                               'mmdet', 'none'])
    p.add_argument('--det-config', help='mmdet face detector config (--detector mmdet)')
    p.add_argument('--det-checkpoint', help='its checkpoint (--detector mmdet)')
    p.add_argument('--det-classes', type=int, nargs='+', help='its face labels (default: all)')
    p.add_argument('--size', type=int, default=150, help="phi's input size")
    p.add_argument('--min-face', type=int, default=100, help='minimum face short side (px)')
    p.add_argument('--k', type=int, default=8)
    p.add_argument('--lam', type=float, default=0.2)
    p.add_argument('--max-upload-mb', type=float, default=8)
    p.add_argument('--host', default='127.0.0.1')
    p.add_argument('--port', type=int, default=8000)
    args = p.parse_args(argv)
    from vidplugins.personart.faces import build_face_detector
    det_args = {}
    if args.detector == 'mmdet':
        if not (args.det_config and args.det_checkpoint):
            p.error('--detector mmdet needs --det-config and --det-checkpoint')
        det_args = dict(config=args.det_config, checkpoint=args.det_checkpoint,
                        classes=args.det_classes)
    detector = WholeImageFace() if args.detector == 'none' else build_face_detector(
        args.detector, **det_args)
    model = build_model(args.config, args.checkpoint, args.cfg_options)
    service = PersonArtService(model, detector, list_gallery(args.gallery), args.size,
                               args.min_face, k=args.k, lam=args.lam, progress=True)
    r = service.report
    print(f'\ngallery: {r["faces"]} faces from {r["files"]} files ({len(r["no_face"])} without a '
          f'face, {len(r["unreadable"])} unreadable, {r["too_small"]} faces too small)')
    import uvicorn
    uvicorn.run(create_app(service, int(args.max_upload_mb * 2 ** 20)), host=args.host,
                port=args.port, log_level='warning')


if __name__ == '__main__':
    main()
