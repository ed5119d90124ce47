"""One PAS job: run ``tools/train.py`` and then ``tools/test.py`` (the unmodified scripts, through
``runpy``) in one Python process, so a hypothesis pays the OpenMMLab import once.

    python -m vidplugins.pas.job tools/train.py CONFIG ... --then tools/test.py CONFIG CKPT ...

``CKPT`` may be ``@last`` (the training work dir's ``last_checkpoint``). Exits with the first
non-zero status (a training killed or stopped by a NaN loss fails the job).
"""
from __future__ import annotations

import os.path as osp
import runpy
import sys
from typing import List

__all__ = ['split_commands', 'resolve_last', 'main']


def split_commands(argv: List[str]) -> List[List[str]]:
    """``a b --then c d`` -> ``[[a, b], [c, d]]``."""
    out, cur = [], []
    for a in argv:
        if a == '--then':
            out.append(cur)
            cur = []
        else:
            cur.append(a)
    out.append(cur)
    if any(not c for c in out):
        raise SystemExit('vidplugins.pas.job: empty command around --then')
    return out


def resolve_last(args: List[str], work_dir: str) -> List[str]:
    """Replace ``@last`` by the checkpoint named in ``work_dir/last_checkpoint``."""
    if '@last' not in args:
        return args
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        ckpt = f.read().strip()
    return [ckpt if a == '@last' else a for a in args]


def _work_dir(args: List[str]) -> str:
    return args[args.index('--work-dir') + 1] if '--work-dir' in args else ''


def main(argv: List[str] = None) -> int:
    commands = split_commands(list(sys.argv[1:] if argv is None else argv))
    train_dir = ''
    for cmd in commands:
        script, args = cmd[0], cmd[1:]
        args = resolve_last(args, train_dir)
        if osp.basename(script) == 'train.py':
            train_dir = _work_dir(args)
        sys.argv = [script] + args
        try:
            runpy.run_path(script, run_name='__main__')
        except SystemExit as e:
            if e.code not in (None, 0):
                return e.code if isinstance(e.code, int) else 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
