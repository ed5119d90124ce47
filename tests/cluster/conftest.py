"""Tests marked ``slurm`` run on the Slurm cluster that ``tools/cluster/local_slurm.sh start``
brings up (``.ci/run`` does): without one they skip with the reason, under CI (``CI=true``) they
fail (see ``tests/cluster/slurm.py``; other test folders can call ``require_slurm()`` too)."""
from .slurm import require_slurm


def pytest_configure(config):
    config.addinivalue_line(
        'markers', 'slurm: runs jobs on a Slurm cluster (tools/cluster/local_slurm.sh start); '
        'skipped without one, a failure under CI=true')


def pytest_runtest_setup(item):
    if item.get_closest_marker('slurm') is not None:
        item.slurm_partition = require_slurm()
