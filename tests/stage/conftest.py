"""Fixtures of the STAGE data tests: the generated demo feature set and config helpers."""
import os.path as osp

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO_CONFIGS = osp.join(REPO, 'configs', 'stage')


@pytest.fixture(scope='session')
def demo_ava(tmp_path_factory):
    """The demo AVA feature set (vidplugins.demo_data.ava_features, default sizes, seed 0)."""
    from vidplugins.demo_data.ava_features import generate_ava_features
    root = str(tmp_path_factory.mktemp('ava_demo'))
    return root, generate_ava_features(root, seed=0)


def point_to(cfg, root: str):
    """Replace the demo configs' ``data/ava_demo`` root by ``root`` everywhere in ``cfg``."""
    def fix(node):
        if isinstance(node, dict):
            for k, v in node.items():
                node[k] = fix(v)
        elif isinstance(node, list):
            return [fix(v) for v in node]
        elif isinstance(node, str) and node.startswith('data/ava_demo'):
            return root + node[len('data/ava_demo'):]
        return node
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader', 'val_evaluator',
                'test_evaluator'):
        if cfg.get(key) is not None:
            fix(cfg[key])
    return cfg
