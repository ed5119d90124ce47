"""Privacy-preserving inference in the client-server setting of thesis Ch. 5 (Fig. 5.2).

The client (the user's device) obfuscates every frame locally with vidplugins' fail-closed
anonymiser and sends only the obfuscated clip; the server (the untrusted service provider) runs a
recognizer, e.g. the privileged-KD student of ``configs/privacy/``, on what it receives and returns
class scores. Transport: HTTP on localhost with the standard library; the payload is a NumPy
``.npz`` of the uint8 clip ``(T, H, W, 3)`` plus a JSON header (no pickle on either side).

    server: python projects/privacy_client_server/privacy_cs.py serve CONFIG CHECKPOINT --port 8765
    client: python projects/privacy_client_server/privacy_cs.py send VIDEO --url http://127.0.0.1:8765

Errors a user can cause (a missing or undecodable video, a server that is not running, a missing
config or checkpoint, a model that fails on the clip) end the command with one line naming the
file or URL and exit status 1, not a traceback; the server answers a failing request with its
error as JSON (HTTP 400 / 500) and keeps serving.
"""
from __future__ import annotations

import argparse
import io
import json
import sys
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Optional

import cv2
import numpy as np

MAX_PAYLOAD = 256 * 1024 * 1024


class ServiceError(RuntimeError):
    """The server cannot be reached or refused the request (the message says which and why)."""


def encode_clip(frames: np.ndarray, meta: Optional[dict] = None) -> bytes:
    """``(T, H, W, 3) uint8`` clip + JSON-able meta -> bytes (npz, loadable without pickle)."""
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f'clip: expected (T, H, W, 3) uint8, got {frames.shape} {frames.dtype}')
    buf = io.BytesIO()
    np.savez_compressed(buf, frames=frames,
                        meta=np.frombuffer(json.dumps(meta or {}).encode(), np.uint8))
    return buf.getvalue()


def decode_clip(payload: bytes):
    """Inverse of :func:`encode_clip`; ``allow_pickle=False``."""
    with np.load(io.BytesIO(payload), allow_pickle=False) as z:
        frames, meta = z['frames'], json.loads(z['meta'].tobytes().decode())
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f'payload clip: expected (T, H, W, 3) uint8, got {frames.shape}')
    return frames, meta


class PrivacyClient:
    """Obfuscates clips locally and posts them to the server.

    Args:
        url: the server's base URL. level, carry, **anonymizer_kwargs: the anonymiser
            (:class:`vidplugins.privacy.anonymizer.FrameAnonymizer`).
    """

    def __init__(self, url: str, level: str = 'face', carry: int = 1, **anonymizer_kwargs):
        from vidplugins.privacy.anonymizer import FrameAnonymizer
        self.url = url.rstrip('/')
        self.anonymizer = FrameAnonymizer(level=level, **anonymizer_kwargs)
        self.carry = carry

    def obfuscate(self, frames) -> tuple[np.ndarray, dict]:
        from vidplugins.privacy.anonymizer import anonymize_frames
        self.anonymizer.reset(None)
        out, whole = [], 0
        for f, res, _ in anonymize_frames(list(frames), self.anonymizer, self.carry):
            out.append(f)
            whole += int(res.whole)
        return np.stack(out), dict(whole_frames=whole)

    def _request(self, req, timeout: float) -> dict:
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as e:
            try:
                detail = json.loads(e.read()).get('error', '')
            except Exception:  # noqa: BLE001 - not our server's JSON
                detail = e.reason
            raise ServiceError(f'{self.url}: the server answered {e.code}: {detail}') from e
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, 'reason', e)
            raise ServiceError(f'cannot reach the server at {self.url} ({reason}); is '
                               '`privacy_cs.py serve` running there?') from e

    def ping(self, timeout: float = 10) -> dict:
        """``GET /health``: raises :class:`ServiceError` when the server is not reachable."""
        return self._request(urllib.request.Request(self.url + '/health'), timeout)

    def predict(self, frames, timeout: float = 60) -> dict:
        """Obfuscate ``frames`` ((T, H, W, 3) uint8 RGB) here, send, return the server's answer.

        Raises:
            ServiceError: the server is unreachable or answered with an error.
        """
        clip, stats = self.obfuscate(frames)
        req = urllib.request.Request(self.url + '/predict', data=encode_clip(clip, stats),
                                     headers={'Content-Type': 'application/octet-stream'})
        return self._request(req, timeout)


class RecognizerService:
    """Runs an mmaction2 recognizer (config + checkpoint) on received clips.

    The clip is resized to ``input_size`` x ``input_size`` and given to the model as one view
    ``(1, 3, T, S, S)`` (NCTHW); the model's data preprocessor normalises it.
    """

    def __init__(self, config, checkpoint: Optional[str], input_size: int = 112,
                 device: str = 'cpu', keep_received: bool = False):
        import vidplugins  # noqa: F401  (registers the plug-ins)
        from mmaction.apis import init_recognizer
        self.model = init_recognizer(config, checkpoint, device=device)
        self.input_size = int(input_size)
        self.received: list = [] if keep_received else None

    def __call__(self, frames: np.ndarray) -> dict:
        import torch
        from mmaction.structures import ActionDataSample
        if self.received is not None:
            self.received.append(frames.copy())
        s = self.input_size
        clip = np.stack([cv2.resize(f, (s, s), interpolation=cv2.INTER_AREA) for f in frames])
        x = torch.from_numpy(clip).permute(3, 0, 1, 2)[None].contiguous()  # (1, 3, T, S, S)
        with torch.no_grad():
            out = self.model.test_step(dict(inputs=[x], data_samples=[ActionDataSample()]))[0]
        scores = out.pred_score.float().cpu().numpy().tolist()
        return dict(label=int(np.argmax(scores)), scores=scores)


def make_server(service, host: str = '127.0.0.1', port: int = 0) -> ThreadingHTTPServer:
    """An HTTP server answering ``POST /predict`` with ``service(clip)`` as JSON."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server API
            if self.path != '/health':
                return self._reply(404, dict(error=f'unknown path {self.path}'))
            self._reply(200, dict(ok=True))

        def do_POST(self):  # noqa: N802 - http.server API
            if self.path != '/predict':
                return self._reply(404, dict(error=f'unknown path {self.path}'))
            n = int(self.headers.get('Content-Length') or 0)
            if not 0 < n <= MAX_PAYLOAD:
                return self._reply(413, dict(error=f'payload size {n} outside (0, {MAX_PAYLOAD}]'))
            try:
                frames, meta = decode_clip(self.rfile.read(n))
            except Exception as e:  # noqa: BLE001
                return self._reply(400, dict(error=f'bad payload: {e}'))
            try:
                answer = service(frames)
            except Exception as e:  # noqa: BLE001 - the client gets the error, the server goes on
                return self._reply(500, dict(error=f'the model failed on the clip '
                                                   f'{tuple(frames.shape)}: '
                                                   f'{type(e).__name__}: {e}'))
            self._reply(200, dict(answer, client=meta))

        def _reply(self, code, obj):
            body = json.dumps(obj).encode()
            self.send_response(code)
            self.send_header('Content-Type', 'application/json')
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):  # keep test output quiet
            pass

    return ThreadingHTTPServer((host, port), Handler)


def serve_in_thread(server: ThreadingHTTPServer) -> threading.Thread:
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    return t


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest='cmd', required=True)
    s = sub.add_parser('serve')
    s.add_argument('config')
    s.add_argument('checkpoint')
    s.add_argument('--host', default='127.0.0.1')
    s.add_argument('--port', type=int, default=8765)
    s.add_argument('--input-size', type=int, default=112)
    c = sub.add_parser('send')
    c.add_argument('video')
    c.add_argument('--url', default='http://127.0.0.1:8765')
    c.add_argument('--level', choices=['face', 'body'], default='face')
    c.add_argument('--frames', type=int, default=16, help='frames sent (uniformly sampled)')
    args = p.parse_args(argv)
    if args.cmd == 'serve':
        import os.path as osp
        for what, path in (('config', args.config), ('checkpoint', args.checkpoint)):
            if not osp.isfile(path):
                print(f'privacy_cs serve: error: {what} {path} does not exist', file=sys.stderr)
                return 1
        try:
            service = RecognizerService(args.config, args.checkpoint, args.input_size)
            srv = make_server(service, args.host, args.port)
        except Exception as e:  # noqa: BLE001 - one line for the user, not a traceback
            print(f'privacy_cs serve: error: {type(e).__name__}: {e}', file=sys.stderr)
            return 1
        print(f'serving on http://{args.host}:{srv.server_address[1]}/predict')
        srv.serve_forever()
        return 0
    from vidplugins.privacy.anonymizer import VideoReadError, probe_video, read_frames
    try:
        probe_video(args.video)  # a missing / non-video file: one line naming it
        frames = list(read_frames(args.video))
        client = PrivacyClient(args.url, args.level)
        client.ping()
        idx = np.linspace(0, len(frames) - 1, args.frames).round().astype(int)
        print(json.dumps(client.predict(np.stack([frames[i] for i in idx]))))
    except (VideoReadError, ServiceError) as e:
        print(f'privacy_cs send: error: {e}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
