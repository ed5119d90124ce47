"""Installation a new user depends on: declared requirements and the system-package check.

* Every third-party package imported by the library, its tools, demos and projects is declared in
  ``setup.py``'s ``install_requires`` (``requirements/openmmlab.txt`` + ``requirements/runtime.txt``),
  so ``pip install vidplugins`` brings what the code imports, or in ``requirements/nodeps.txt``
  (installed without their stale dependency pins by ``tools/setup_env.sh``).
* ``tools/check_system.sh`` (run first by ``tools/setup_env.sh``) names the missing system
  packages with a clear message instead of failing half-way through a compile.
"""
from __future__ import annotations

import ast
import importlib.metadata as md
import os
import os.path as osp
import re
import shutil
import subprocess
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
SCANNED = ('vidplugins', 'tools', 'demo', 'projects')


def _imported_top_level_modules() -> dict[str, str]:
    """Top-level module names imported anywhere in SCANNED -> one file importing it."""
    found: dict[str, str] = {}
    for sub in SCANNED:
        for dirpath, _, files in os.walk(osp.join(ROOT, sub)):
            if '.mim' in dirpath.split(os.sep):
                continue
            for name in files:
                if not name.endswith('.py'):
                    continue
                path = osp.join(dirpath, name)
                with open(path, encoding='utf-8') as f:
                    tree = ast.parse(f.read(), filename=path)
                for node in ast.walk(tree):
                    if isinstance(node, ast.Import):
                        names = [a.name for a in node.names]
                    elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                        names = [node.module]
                    else:
                        continue
                    for n in names:
                        found.setdefault(n.split('.')[0], osp.relpath(path, ROOT))
    return found


def _declared_distributions() -> set[str]:
    sys.path.insert(0, ROOT)
    try:
        import importlib
        setup_mod = importlib.import_module('setup')
    finally:
        sys.path.pop(0)
    # requirements/nodeps.txt: packages whose declared dependencies are stale (e.g. a torch < 2.3
    # pin); tools/setup_env.sh installs them with --no-deps, which install_requires cannot say.
    reqs = (setup_mod.read_requirements('openmmlab.txt')
            + setup_mod.read_requirements('runtime.txt')
            + setup_mod.read_requirements('nodeps.txt'))
    return {_canonical(re.split(r'[<>=!~\[; ]', r, maxsplit=1)[0]) for r in reqs}


def _canonical(name: str) -> str:
    return re.sub(r'[-_.]+', '-', name).lower()


def _is_first_party_or_stdlib(module: str) -> bool:
    if module in sys.stdlib_module_names or module in ('vidplugins', 'setup', '__future__'):
        return True
    # Tools and demos import sibling scripts by name (e.g. ``from train import ...``).
    return any(osp.exists(osp.join(ROOT, d, module + '.py')) or
               osp.isdir(osp.join(ROOT, d, module)) for d in ('tools', 'demo', 'projects'))


# Imported only by tests/benchmarks as an oracle, or optional integrations that are imported
# lazily with a clear error naming the package when the user asks for them.
OPTIONAL = {
    'SoccerNet': 'test oracle / benchmark baseline (requirements/nodeps.txt)',
    'mmseg': 'Art2Real segmenter of a user-given mmsegmentation model, imported on request '
             'with an error that names the package (vidplugins/art2real/segmenters.py)',
    'tensorflow': 'development only: records the SSDLite person detector\'s oracle outputs '
                  '(tools/analysis/ssdlite_tf_oracle.py); vidplugins runs the graph in PyTorch',
}


def _module_to_distributions() -> dict[str, set[str]]:
    """Top-level import name -> distributions, from top_level.txt and from installed files.

    Some wheels declare a wrong top_level.txt (dlib-bin names only its extension module), so the
    folders a distribution installs count too.
    """
    mapping = {k: set(v) for k, v in md.packages_distributions().items()}
    for dist in md.distributions():
        for f in dist.files or ():
            parts = f.parts
            if len(parts) > 1 and parts[-1] == '__init__.py' and '.dist-info' not in parts[0]:
                mapping.setdefault(parts[0], set()).add(dist.metadata['Name'])
    return mapping


def test_every_imported_package_is_declared():
    packages = _module_to_distributions()
    declared = _declared_distributions()
    undeclared = []
    for module, where in sorted(_imported_top_level_modules().items()):
        if _is_first_party_or_stdlib(module) or module in OPTIONAL:
            continue
        dists = packages.get(module)
        if not dists:
            undeclared.append(f'{module} (no installed distribution; imported by {where})')
        elif not any(_canonical(d) in declared for d in dists):
            undeclared.append(f'{module} (from {"/".join(dists)}; imported by {where})')
    assert not undeclared, (
        'imported but not declared in requirements/openmmlab.txt or runtime.txt (setup.py '
        'install_requires): ' + ', '.join(undeclared))


def _run_check(env_updates: dict, path_dirs: list[str]):
    env = {k: v for k, v in os.environ.items() if k != 'VIDPLUGINS_SKIP_SYSTEM_CHECK'}
    env.update(env_updates)
    env['PATH'] = os.pathsep.join(path_dirs)
    return subprocess.run(['/bin/bash', osp.join(ROOT, 'tools', 'check_system.sh')], env=env,
                          capture_output=True, text=True, timeout=60)


def _bin_without(tmp_path, drop: set[str]) -> str:
    """A PATH folder with links to the few tools the check uses, minus ``drop``."""
    bindir = tmp_path / 'bin'
    bindir.mkdir()
    for tool in ('python3', 'c++', 'dirname'):
        src = shutil.which(tool)
        if src and tool not in drop:
            os.symlink(src, bindir / tool)
    return str(bindir)


def test_check_system_passes_here():
    res = subprocess.run(['bash', osp.join(ROOT, 'tools', 'check_system.sh')],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr


@pytest.mark.skipif(shutil.which('python3') is None, reason='needs a python3 on PATH')
def test_check_system_names_a_missing_compiler(tmp_path):
    res = _run_check({'PYTHON': 'python3', 'CXX': 'c++'}, [_bin_without(tmp_path, {'c++'})])
    assert res.returncode == 1
    assert 'C++ compiler' in res.stderr and 'g++' in res.stderr


def test_check_system_names_missing_headers_and_venv(tmp_path):
    # An interpreter whose venv/ensurepip import fails and whose include folder has no Python.h.
    fake = tmp_path / 'fakepython'
    fake.write_text(
        '#!/bin/bash\n'
        'case "$2" in\n'
        '  *sys.version_info*) exit 0 ;;\n'
        '  *ensurepip*) exit 1 ;;\n'
        f'  *sysconfig*) echo {tmp_path}/include ;;\n'
        'esac\n')
    fake.chmod(0o755)
    res = _run_check({'PYTHON': str(fake), 'CXX': 'c++'}, [_bin_without(tmp_path, set())])
    assert res.returncode == 1
    assert 'python3-venv' in res.stderr
    assert 'Python.h' in res.stderr and 'python3-dev' in res.stderr


def _run_setup_with_fake_venv(tmp_path, extra_env: dict) -> list[str]:
    """Run tools/setup_env.sh against a stand-in venv interpreter that records every call.

    The stand-in answers the version query with a CPU torch build and has mmcv's ops "built", so
    the script walks its whole install sequence without downloading or compiling anything.
    """
    venv = tmp_path / 'venv'
    (venv / 'bin').mkdir(parents=True)
    calls = tmp_path / 'calls.log'
    fake = venv / 'bin' / 'python'
    fake.write_text(
        '#!/bin/bash\n'
        f'echo "$*" >> {calls}\n'
        'case "$*" in *torch.__version__*) echo 2.15.0+cpu ;; esac\n'
        'exit 0\n')
    fake.chmod(0o755)
    mmcv_ver = [line.split('==')[1].strip() for line in
                open(osp.join(ROOT, 'requirements', 'constraints.txt'))
                if line.startswith('mmcv==')][0]
    (venv / '.mmcv-built-for').write_text(f'{mmcv_ver}-2.15.0+cpu-cpu\n')
    env = {k: v for k, v in os.environ.items() if k != 'VIDPLUGINS_TORCH_INDEX'}
    env.update(VIDPLUGINS_VENV=str(venv), XDG_CACHE_HOME=str(tmp_path / 'cache'),
               VIDPLUGINS_SKIP_SYSTEM_CHECK='1', **extra_env)
    res = subprocess.run(['bash', osp.join(ROOT, 'tools', 'setup_env.sh')], env=env,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    return [line for line in calls.read_text().splitlines() if 'torchvision' in line]


def test_setup_env_takes_torch_from_the_given_index(tmp_path):
    url = 'https://wheels.example.invalid/whl/cpu'
    torch_calls = _run_setup_with_fake_venv(tmp_path, {'VIDPLUGINS_TORCH_INDEX': url})
    assert len(torch_calls) == 1
    call = torch_calls[0].split()
    assert call[call.index('--index-url') + 1] == url
    # The pins still apply: the same constraints file as every other install.
    assert call[call.index('-c') + 1] == osp.join(ROOT, 'requirements', 'constraints.txt')


def test_setup_env_takes_torch_from_pypi_by_default(tmp_path):
    torch_calls = _run_setup_with_fake_venv(tmp_path, {})
    assert len(torch_calls) == 1 and '--index-url' not in torch_calls[0]
