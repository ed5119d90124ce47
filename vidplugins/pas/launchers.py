"""How a PAS search runs its jobs (each an ordinary ``tools/train.py`` / ``tools/test.py``
command): on this machine as child processes, or on Slurm through submitit.

A launcher turns a command into a handle (a JSON-able dict stored in ``search.json``) and answers
``poll(handle)``: None while running, else the exit code. After a restart of the search, handles
read back from ``search.json`` are polled the same way; a local handle whose process is gone
reads as killed (-9), and the search resumes that job from its last checkpoint.
"""
from __future__ import annotations

import ctypes
import os
import os.path as osp
import signal
import subprocess
from typing import Dict, List, Optional

__all__ = ['LocalLauncher', 'SlurmLauncher', 'build_launcher']

_PR_SET_PDEATHSIG = 1


def _die_with_parent():  # runs in the child before exec
    try:
        ctypes.CDLL('libc.so.6', use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:  # not Linux: the restart check below still finds orphans
        pass


def _cmdline(pid: int) -> str:
    try:
        with open(f'/proc/{pid}/cmdline', 'rb') as f:
            return f.read().replace(b'\0', b' ').decode(errors='replace')
    except OSError:
        return ''


class LocalLauncher:
    """Child processes of the search (they die with it: ``PR_SET_PDEATHSIG``)."""

    kind = 'local'

    def __init__(self):
        self._procs: Dict[int, subprocess.Popen] = {}

    def submit(self, cmd: List[str], log_path: str, cwd: Optional[str] = None) -> dict:
        os.makedirs(osp.dirname(log_path), exist_ok=True)
        with open(log_path, 'ab') as log:
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=cwd,
                                    preexec_fn=_die_with_parent)
        self._procs[proc.pid] = proc
        return dict(pid=proc.pid, marker=cmd[-1] if cmd else '')

    def poll(self, handle: dict) -> Optional[int]:
        proc = self._procs.get(handle.get('pid'))
        if proc is not None:
            rc = proc.poll()
            if rc is not None:
                self._procs.pop(proc.pid, None)
            return rc
        # A handle from a previous run of the search: its process is not our child.
        return None if self.alive(handle) else -9

    def alive(self, handle: dict) -> bool:
        pid = handle.get('pid')
        return bool(pid) and handle.get('marker', '') in _cmdline(pid) and _cmdline(pid) != ''

    def cancel(self, handle: dict) -> None:
        if self.alive(handle):
            os.kill(handle['pid'], signal.SIGKILL)
            proc = self._procs.pop(handle['pid'], None)
            if proc is not None:
                proc.wait()


class SlurmLauncher:
    """Slurm through submitit 1.5.4 (``sbatch`` must be on PATH). Every job gets an explicit
    ``timeout_min`` (submitit's default is 2 minutes); a job that times out or is preempted is
    simply resubmitted by the search and resumes from its last checkpoint.

    Args:
        folder: where submitit keeps its job files and logs.
        timeout_min: wall-clock limit of every job.
        slurm_kwargs: passed to ``AutoExecutor.update_parameters`` (e.g. ``slurm_partition``,
            ``gpus_per_node``, ``cpus_per_task``).
    """

    kind = 'slurm'

    def __init__(self, folder: str, timeout_min: int = 24 * 60, **slurm_kwargs):
        import submitit
        if timeout_min is None or timeout_min <= 0:
            raise ValueError('SlurmLauncher: timeout_min must be set (> 0)')
        self.folder = folder
        self.executor = submitit.AutoExecutor(folder=folder, cluster='slurm')
        self.executor.update_parameters(timeout_min=int(timeout_min), **slurm_kwargs)

    def submit(self, cmd: List[str], log_path: str, cwd: Optional[str] = None) -> dict:
        import submitit
        fn = submitit.helpers.CommandFunction(cmd, cwd=cwd, verbose=False)
        job = self.executor.submit(fn)
        return dict(job_id=str(job.job_id), folder=self.folder, log=log_path)

    def _job(self, handle: dict):
        import submitit
        return submitit.SlurmJob(folder=handle['folder'], job_id=handle['job_id'])

    def poll(self, handle: dict) -> Optional[int]:
        job = self._job(handle)
        if job.paths.result_pickle.exists():   # submitit wrote the outcome: finished
            try:
                job.result()
                return 0
            except Exception:  # noqa: BLE001  (the command failed: its log says why)
                return 1
        state = job.state
        if state in ('FAILED', 'CANCELLED', 'TIMEOUT', 'NODE_FAIL', 'PREEMPTED',
                     'OUT_OF_MEMORY', 'BOOT_FAIL', 'DEADLINE'):
            return 1
        if state == 'UNKNOWN' and not self._queued(handle['job_id']):
            # no accounting (sacct) on this cluster, the job left the queue without a result
            return 1 if not job.paths.result_pickle.exists() else self.poll(handle)
        return None

    @staticmethod
    def _queued(job_id: str) -> bool:
        out = subprocess.run(['squeue', '-h', '-j', str(job_id), '-o', '%i'],
                             capture_output=True, text=True, timeout=60)
        return out.returncode == 0 and bool(out.stdout.strip())

    def alive(self, handle: dict) -> bool:
        return self.poll(handle) is None

    def cancel(self, handle: dict) -> None:
        self._job(handle).cancel(check=False)


def build_launcher(kind: str, work_dir: str, timeout_min: int = 24 * 60, **kwargs):
    if kind == 'local':
        return LocalLauncher()
    if kind == 'slurm':
        return SlurmLauncher(osp.join(work_dir, 'slurm'), timeout_min=timeout_min, **kwargs)
    raise ValueError(f"launcher must be 'local' or 'slurm', got {kind!r}")
