"""Helpers of the PersonArt app tests: a live uvicorn server and small HTTP clients."""
import io
import json
import socket
import threading
import time
import urllib.error
import urllib.request
import uuid

from ..conftest import load_script


def load_app_module():
    return load_script('projects', 'personart_app', 'app.py', name='personart_app')


def serve(app):
    import uvicorn
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()
    server = uvicorn.Server(uvicorn.Config(app, host='127.0.0.1', port=port, log_level='error'))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    return server, f'http://127.0.0.1:{port}'


def post_file(url, data: bytes, name='face.jpg', face=None):
    boundary = uuid.uuid4().hex
    body = io.BytesIO()
    body.write(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
               f'filename="{name}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode())
    body.write(data + b'\r\n')
    if face is not None:
        body.write(f'--{boundary}\r\nContent-Disposition: form-data; name="face"\r\n\r\n'
                   f'{face}\r\n'.encode())
    body.write(f'--{boundary}--\r\n'.encode())
    req = urllib.request.Request(url + '/api/query', body.getvalue(), method='POST', headers={
        'Content-Type': f'multipart/form-data; boundary={boundary}'})
    return _send(req)


def post_json(url, path, obj):
    req = urllib.request.Request(url + path, json.dumps(obj).encode(), method='POST',
                                 headers={'Content-Type': 'application/json'})
    return _send(req)


def _send(req):
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def jpeg(rgb):
    import cv2
    return cv2.imencode('.jpg', cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))[1].tobytes()
