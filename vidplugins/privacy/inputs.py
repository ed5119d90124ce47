"""What the anonymiser and the auditor read: videos, images, mmaction2 rawframes folders.

:func:`walk_inputs` classifies everything under a folder into :class:`InputItem` s

- ``'video'``: a file with one of :data:`VIDEO_EXTENSIONS`;
- ``'image'``: a file with one of :data:`IMAGE_EXTENSIONS` (a photo, or a folder of them);
- ``'rawframes'``: the frames of one video as mmaction2's ``rawframes`` layout writes them
  (``tools/data/build_rawframes.py``: ``<video>/img_00001.jpg, img_00002.jpg, ...``), i.e. the
  files of one folder whose names match :data:`RAWFRAME_REGEX`, ordered by their number; the
  anonymiser treats them as one video (temporal support across frames) and writes them back under
  the same names;

and returns the files it does not know (other extensions, hidden files) separately, so a caller
counts and reports them instead of silently ignoring them.

Also here: the deterministic split of a dataset into shards (:func:`in_shard`), the removal of
temporary files an interrupted (``kill -9``) run left behind (:func:`remove_stale_temporaries`)
and the file-mode rule of every output (:func:`default_file_mode`: what ``open()`` would give,
i.e. ``0o666`` minus the umask, not the ``0o600`` of :func:`tempfile.mkstemp`).
"""
from __future__ import annotations

import hashlib
import os
import os.path as osp
import re
import shutil
from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np

__all__ = ['VIDEO_EXTENSIONS', 'IMAGE_EXTENSIONS', 'RAWFRAME_REGEX', 'InputItem', 'walk_inputs',
           'classify_path', 'in_shard', 'parse_shard', 'default_file_mode', 'set_default_mode',
           'remove_stale_temporaries', 'read_image', 'write_image', 'replace_dir']

VIDEO_EXTENSIONS = ('.mp4', '.avi', '.mkv', '.mov', '.webm', '.m4v', '.mpg', '.mpeg')
IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')
#: mmaction2's rawframes file names (``filename_tmpl='img_{:05}.jpg'``); group 1 is the index.
RAWFRAME_REGEX = r'img_(\d+)\.(?:jpg|jpeg|png)'
#: Names the anonymiser writes into its output folder; not inputs, not "unknown" either.
OWN_OUTPUTS = re.compile(r'^(\.anonymize_state|anonymize_report(\.shard-\d+-of-\d+)?\.json)$')


@dataclass
class InputItem:
    """One unit of work.

    Attributes:
        rel: path relative to the walked root (``'.'`` when the root itself is a rawframes folder).
        kind: ``'video'``, ``'image'`` or ``'rawframes'``.
        frames: rawframes only: the frame file names inside the folder, in temporal order.
    """
    rel: str
    kind: str
    frames: list = field(default_factory=list)


def _rawframes_in(names: Sequence[str], regex: str) -> list:
    pat = re.compile(regex, re.IGNORECASE)
    hits = [(int(m.group(1)), n) for n in names if (m := pat.fullmatch(n))]
    return [n for _, n in sorted(hits)]


def classify_path(path: str, regex: str = RAWFRAME_REGEX) -> Optional[InputItem]:
    """The item ``path`` is by itself (a video or image file, a rawframes folder), else None."""
    name = osp.basename(osp.normpath(path))
    ext = osp.splitext(path)[1].lower()
    if osp.isfile(path):
        if ext in VIDEO_EXTENSIONS:
            return InputItem(name, 'video')
        if ext in IMAGE_EXTENSIONS:
            return InputItem(name, 'image')
        return None
    if osp.isdir(path):
        frames = _rawframes_in(sorted(os.listdir(path)), regex)
        if frames:
            return InputItem(name, 'rawframes', frames)
    return None


def walk_inputs(root: str, regex: str = RAWFRAME_REGEX) -> tuple[list, list]:
    """Classify everything under ``root``.

    Returns:
        ``(items, unknown)``: :class:`InputItem` s sorted by ``rel``, and the relative paths of the
        files that are none of them (other extensions, hidden files; a hidden folder is listed
        once with a trailing ``/``). The anonymiser's own state folder and reports are neither.
    """
    items, unknown = [], []
    for d, dirs, files in os.walk(root):
        rel_d = osp.relpath(d, root)
        at_root = rel_d == '.'
        for x in sorted(dirs):
            if x.startswith('.') and not (at_root and OWN_OUTPUTS.match(x)):
                unknown.append(osp.normpath(osp.join(rel_d, x)) + '/')
        dirs[:] = sorted(x for x in dirs if not x.startswith('.'))
        frames = _rawframes_in(files, regex)
        if frames:
            items.append(InputItem(rel_d, 'rawframes', frames))
        taken = set(frames)
        for f in sorted(files):
            if f in taken or (at_root and OWN_OUTPUTS.match(f)):
                continue
            rel = osp.normpath(osp.join(rel_d, f))
            ext = osp.splitext(f)[1].lower()
            if f.startswith('.'):
                unknown.append(rel)
            elif ext in VIDEO_EXTENSIONS:
                items.append(InputItem(rel, 'video'))
            elif ext in IMAGE_EXTENSIONS:
                items.append(InputItem(rel, 'image'))
            else:
                unknown.append(rel)
    items.sort(key=lambda it: it.rel)
    return items, sorted(unknown)


# ---------------------------------------------------------------------------------------------
# Shards
# ---------------------------------------------------------------------------------------------
def parse_shard(text: str) -> tuple[int, int]:
    """``'K/N'`` -> ``(K, N)`` with ``0 <= K < N`` (0-based, as ``SLURM_ARRAY_TASK_ID`` with
    ``--array=0-<N-1>``); anything else raises ValueError saying what is expected."""
    m = re.fullmatch(r'\s*(\d+)\s*/\s*(\d+)\s*', str(text))
    if not m or not 0 <= int(m.group(1)) < int(m.group(2)):
        raise ValueError(f'--shard: expected K/N with 0 <= K < N (0-based), got {text!r}')
    return int(m.group(1)), int(m.group(2))


def in_shard(rel: str, shard: Optional[tuple]) -> bool:
    """Whether the item ``rel`` belongs to ``shard = (K, N)`` (None: all).

    The rule reads only the item's own relative path (SHA-1 modulo N), so every input belongs to
    exactly one shard whatever else the folder holds: files added or removed while an array job
    runs cannot make two shards disagree on an item, and a resubmitted shard picks the same items.
    """
    if shard is None:
        return True
    k, n = shard
    digest = hashlib.sha1(rel.replace(os.sep, '/').encode()).hexdigest()
    return int(digest, 16) % n == k


# ---------------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------------
def default_file_mode() -> int:
    """``0o666`` minus the process's umask: the mode ``open(path, 'w')`` gives a new file."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def set_default_mode(path: str) -> None:
    """Give a ``mkstemp`` file (0o600) the mode of a normally created file (see above)."""
    os.chmod(path, default_file_mode())


_TMP_NAME = r'[a-z0-9_]{8}\.(?:tmp.*|old)'  # tempfile's 8 random characters, then our suffixes


def remove_stale_temporaries(path: str) -> list:
    """Delete what an interrupted write of ``path`` left in its folder: ``.<name>.<8 random
    characters>.tmp*`` files or folders and ``.<name>.<random>.old`` folders. Returns them.

    Call it only for outputs this process owns (the item is in its shard): another shard's
    temporaries belong to a live writer."""
    folder, name = osp.split(osp.abspath(path))
    if not osp.isdir(folder):
        return []
    pat = re.compile(r'\.' + re.escape(name) + r'\.' + _TMP_NAME)
    removed = []
    for f in os.listdir(folder):
        if pat.fullmatch(f):
            p = osp.join(folder, f)
            if osp.isdir(p) and not osp.islink(p):
                shutil.rmtree(p, ignore_errors=True)
            else:
                try:
                    os.remove(p)
                except FileNotFoundError:
                    pass
            removed.append(p)
    return removed


def read_image(path: str) -> np.ndarray:
    """``(H, W, 3) uint8`` RGB of an image file (EXIF orientation applied, alpha dropped, grey
    expanded); raises :class:`~.anonymizer.VideoReadError` naming the file when undecodable."""
    import cv2

    from .anonymizer import VideoReadError
    if not osp.isfile(path):
        raise VideoReadError(f'{path}: no such file')
    img = cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        raise VideoReadError(f'{path}: cannot decode image (corrupt or unsupported)')
    return np.ascontiguousarray(img[..., ::-1])


def write_image(path: str, rgb: np.ndarray, jpeg_quality: int = 95, atomic: bool = True) -> None:
    """Encode ``rgb`` (H, W, 3) uint8 by ``path``'s extension and write it (atomically unless
    ``atomic=False``, for files inside a temporary folder), mode as a normally created file.
    Metadata (EXIF: GPS, camera, date) is not carried over."""
    import cv2

    from vidplugins.utils.io import atomic_write
    ext = osp.splitext(path)[1].lower()
    params = [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)] if ext in ('.jpg', '.jpeg') else []
    ok, buf = cv2.imencode(ext, np.ascontiguousarray(rgb[..., ::-1]), params)
    if not ok:
        raise RuntimeError(f'{path}: OpenCV could not encode the image as {ext}')
    if not atomic:
        with open(path, 'wb') as f:
            f.write(buf.tobytes())
        return
    with atomic_write(path, 'wb') as f:
        f.write(buf.tobytes())
    set_default_mode(path)


def replace_dir(tmp_dir: str, dst: str) -> None:
    """Put the finished folder ``tmp_dir`` at ``dst``: a rename when ``dst`` does not exist; else
    the old ``dst`` is first renamed aside (``.<name>.<random>.old``) and deleted after, so
    ``dst`` is never a mix of old and new frames."""
    if not osp.exists(dst):
        os.replace(tmp_dir, dst)
        return
    import tempfile
    folder, name = osp.split(osp.abspath(dst))
    old = tempfile.mkdtemp(prefix='.' + name + '.', suffix='.old', dir=folder)
    os.rmdir(old)
    os.replace(dst, old)
    os.replace(tmp_dir, dst)
    shutil.rmtree(old, ignore_errors=True)
