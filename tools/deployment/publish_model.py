"""Prepare a checkpoint for release: ``python tools/deployment/publish_model.py IN_FILE OUT_FILE``.

Keeps the weights and the light metadata, drops the optimizer / scheduler state and the message
hub, and names the file ``<OUT_FILE stem>_<YYYYMMDD>-<sha256[:8]>.pth`` (the model-zoo convention).
Loads with ``weights_only=True``: a checkpoint from elsewhere cannot run code here.
"""
import argparse
import datetime
import hashlib
import os
import os.path as osp
import sys

import torch

import vidplugins  # noqa: F401  (allow-list of mmengine checkpoint types)
from vidplugins.utils.io import atomic_write

DROP_KEYS = ('optimizer', 'param_schedulers', 'message_hub')


class CheckpointError(ValueError):
    """The input is missing or is not a (weights-only loadable) checkpoint."""


def parse_args():
    parser = argparse.ArgumentParser(description='Strip a checkpoint and name it for release')
    parser.add_argument('in_file', help='input checkpoint')
    parser.add_argument('out_file', help='output name; date and hash are appended to its stem')
    return parser.parse_args()


def sha256_prefix(path: str, n: int = 8) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()[:n]


def publish(in_file: str, out_file: str) -> str:
    """Write the stripped checkpoint; returns its final path."""
    if not osp.isfile(in_file):
        raise CheckpointError(f'{in_file}: checkpoint not found')
    try:
        ckpt = torch.load(in_file, map_location='cpu', weights_only=True)
    except Exception as e:  # torch raises KeyError, UnpicklingError, RuntimeError... by format
        raise CheckpointError(f'{in_file}: not a PyTorch checkpoint that loads with '
                              f'weights_only=True ({type(e).__name__}: {e})') from None
    if not isinstance(ckpt, dict):
        raise CheckpointError(f'{in_file}: a checkpoint is a dict (with "state_dict"), found '
                              f'{type(ckpt).__name__}')
    for key in DROP_KEYS:
        ckpt.pop(key, None)
    meta = ckpt.get('meta', {})
    for key in DROP_KEYS:
        meta.pop(key, None)
    stem = out_file[:-4] if out_file.endswith('.pth') else out_file
    tmp = stem + '.tmp.pth'
    with atomic_write(tmp, 'wb') as f:
        torch.save(ckpt, f)
    final = f'{stem}_{datetime.date.today():%Y%m%d}-{sha256_prefix(tmp)}.pth'
    os.replace(tmp, final)
    return final


def main():
    args = parse_args()
    try:
        final = publish(args.in_file, args.out_file)
    except CheckpointError as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    print(f'Published {osp.abspath(final)}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
