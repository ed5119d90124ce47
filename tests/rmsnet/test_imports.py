"""Lazy per-method registration (issue 10, item 11): ``import vidplugins`` applies the
compatibility fixes only, each method registers itself when imported and does not import the other
methods, and the SoccerNet evaluator imports no deep-learning package.

Each check runs in a fresh interpreter (this pytest process has imported everything already) and
reads ``sys.modules`` after the import.
"""
import json
import os.path as osp
import subprocess
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
METHODS = ('vidplugins.rmsnet', 'vidplugins.stage', 'vidplugins.privacy')
HEAVY = ('torch', 'mmengine', 'mmcv', 'mmaction', 'mmdet', 'mmpretrain', 'mmagic', 'transformers',
         'timm', 'cv2')


def modules_after(code: str) -> set:
    """Top-level and ``vidplugins.*`` modules loaded by ``code`` in a fresh interpreter."""
    probe = code + '\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))\n'
    out = subprocess.run([sys.executable, '-c', probe], cwd=REPO, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def method_packages(modules: set) -> set:
    return {m for m in METHODS if m in modules}


def test_import_vidplugins_is_light_and_imports_no_method():
    mods = modules_after('import vidplugins')
    assert method_packages(mods) == set()
    assert not [h for h in HEAVY if h in mods]


def test_evaluator_and_its_tool_import_neither_torch_nor_openmmlab():
    mods = modules_after('import vidplugins.soccernet.evaluation\n'
                         'import runpy, sys\n'
                         'sys.argv = ["eval_spotting.py", "--help"]\n'
                         'try:\n'
                         '    runpy.run_path("tools/eval_spotting.py", run_name="__main__")\n'
                         'except SystemExit:\n'
                         '    pass\n')
    assert 'vidplugins.soccernet.evaluation.average_map' in mods
    assert not [h for h in HEAVY if h in mods]
    assert method_packages(mods) == set()


@pytest.mark.parametrize('method', METHODS)
def test_each_method_registers_on_import_without_importing_the_others(method):
    registered = {'vidplugins.rmsnet': ('mmaction.registry', 'MODELS', 'RMSNet'),
                  'vidplugins.stage': ('mmaction.registry', 'MODELS', 'STAGE'),
                  'vidplugins.privacy': ('mmaction.registry', 'MODELS', 'PrivilegedDistiller')}
    registry_module, registry, name = registered[method]
    code = (f'import {method}\n'
            f'from {registry_module} import {registry}\n'
            f'assert {registry}.get({name!r}) is not None, "{name} not registered"\n')
    mods = modules_after(code)
    assert method_packages(mods) == {method}


def test_configs_name_the_method_they_need():
    """Every config of the three methods loads and imports exactly its method's package
    (mmengine ``custom_imports``, once in its chain), never the whole of vidplugins."""
    import glob

    from mmengine.config import Config
    paths = sorted(p for m in METHODS
                   for p in glob.glob(osp.join(REPO, 'configs', m.split('.')[1], '*.py')))
    assert len(paths) > 50
    for path in paths:
        folder = osp.basename(osp.dirname(path))
        custom = Config.fromfile(path, import_custom_modules=False).get('custom_imports')
        assert custom == dict(imports=[f'vidplugins.{folder}'], allow_failed_imports=False), path


def test_third_party_future_warnings_are_silenced_and_others_are_not():
    """transformers / diffusers print FutureWarnings about torch internals on every tool run
    (``import mmaction.models`` imports transformers); ``vidplugins.compat`` filters exactly
    those packages' FutureWarnings."""
    code = ('import warnings\n'
            'import vidplugins\n'
            'import mmaction.models, mmagic.models\n'
            'warnings.warn("kept", FutureWarning)\n')
    out = subprocess.run([sys.executable, '-c', code], cwd=REPO, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    warned = [line for line in out.stderr.splitlines() if 'FutureWarning' in line]
    assert warned == ['<string>:4: FutureWarning: kept'], out.stderr[-3000:]
