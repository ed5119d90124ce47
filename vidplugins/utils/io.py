"""Atomic file writes: a reader never sees a half-written file, a crash leaves the old one."""
from __future__ import annotations

import contextlib
import json
import os
import os.path as osp
import tempfile


@contextlib.contextmanager
def atomic_write(path: str, mode: str = 'w'):
    """Open a temporary file next to ``path``; on success rename it over ``path``.

    The temporary file lives in the same folder, so the final ``os.replace`` is atomic.
    """
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix='.' + osp.basename(path) + '.', suffix='.tmp', dir=folder)
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(tmp, 0o666 & ~mask)  # mkstemp's 0o600 -> what open() gives (0o644 at umask 022)
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise


def dump_json_atomic(obj, path: str, **kwargs) -> None:
    """``json.dump`` through ``atomic_write``."""
    with atomic_write(path, 'w') as f:
        json.dump(obj, f, **kwargs)
