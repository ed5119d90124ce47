import importlib.util
import os.path as osp

import pytest

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
#: Real files shared with developers and CI (absent on a user's machine: tests using them skip).
SHARED_DATA = osp.join(osp.dirname(REPO), 'shared', 'data')


def load_script(*parts, name=None):
    """Import a repository script (``demo/``, ``tools/``, ``benchmarks/``, ``projects/``) as a
    module, e.g. ``load_script('demo', 'art2real_demo.py')``, to call its functions in-process."""
    path = osp.join(REPO, *parts)
    spec = importlib.util.spec_from_file_location(
        name or osp.splitext(osp.basename(path))[0], path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def shared(*parts):
    """Path of a file under ../shared/data, or skip the test when that folder is absent."""
    path = osp.join(SHARED_DATA, *parts)
    if not osp.exists(path):
        pytest.skip(f'real data not available ({osp.join(*parts)} under ../shared/data)')
    return path


@pytest.fixture(scope='session')
def demo_soccernet(tmp_path_factory):
    """A small generated SoccerNet-v1 (3 train / 1 valid / 1 test games, 300-frame halves)."""
    from vidplugins.demo_data.soccernet import generate_soccernet
    root = str(tmp_path_factory.mktemp('soccernet_v1'))
    games = generate_soccernet(root, version=1, splits={'Train': 3, 'Valid': 1, 'Test': 1},
                               half_frames=300, events_per_half=3, seed=1)
    return root, games


@pytest.fixture(scope='session')
def demo_soccernet_v2(tmp_path_factory):
    from vidplugins.demo_data.soccernet import generate_soccernet
    root = str(tmp_path_factory.mktemp('soccernet_v2'))
    games = generate_soccernet(root, version=2, splits={'Train': 2, 'Valid': 1, 'Test': 1},
                               half_frames=300, events_per_half=4, seed=2)
    return root, games
