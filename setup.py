"""vidplugins: OpenMMLab plug-ins for human-action video methods (M. Tomei's PhD thesis).

Like mmaction2, the package carries its ``configs/``, ``tools/`` and ``model-index.yml`` in
``vidplugins/.mim`` (symlinks for an editable install, copies otherwise), so an installed
vidplugins is usable from any folder.
"""
import os
import os.path as osp
import shutil

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))
MIM_FILES = ('configs', 'tools', 'model-index.yml')


def version() -> str:
    scope: dict = {}
    with open(osp.join(HERE, 'vidplugins', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


def add_mim_extension() -> None:
    """Place configs/, tools/ and model-index.yml inside the package (vidplugins/.mim)."""
    import sys
    # A wheel or sdist gets copies; an editable install (develop / editable_wheel / egg_info)
    # gets symlinks, so edits to configs/ and tools/ show through.
    mode = 'copy' if any(a in sys.argv for a in ('sdist', 'bdist_wheel')) else 'symlink'
    mim = osp.join(HERE, 'vidplugins', '.mim')
    os.makedirs(mim, exist_ok=True)
    for name in MIM_FILES:
        src, dst = osp.join(HERE, name), osp.join(mim, name)
        if not osp.exists(src):
            continue
        if osp.islink(dst) or osp.isfile(dst):
            os.remove(dst)
        elif osp.isdir(dst):
            shutil.rmtree(dst)
        if mode == 'symlink':
            os.symlink(osp.relpath(src, mim), dst)
        elif osp.isdir(src):
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns('__pycache__'))
        else:
            shutil.copyfile(src, dst)


def read_requirements(name: str) -> list:
    """Top-level requirements of requirements/<name>.txt (versions are pinned by constraints)."""
    reqs = []
    with open(osp.join(HERE, 'requirements', name)) as f:
        for line in f:
            line = line.split('#')[0].strip()
            if line:
                reqs.append(line)
    return reqs


if __name__ == '__main__':
    add_mim_extension()
    setup(
        name='vidplugins',
        version=version(),
        description='OpenMMLab plug-ins for human-action video methods: STAGE, RMS-Net, '
        'privacy-preserving recognition, PAS, Art2Real, PersonArt',
        long_description=open(osp.join(HERE, 'README.md')).read()
        if osp.exists(osp.join(HERE, 'README.md')) else '',
        long_description_content_type='text/markdown',
        license='Apache License 2.0',
        python_requires='>=3.9',
        packages=find_packages(include=('vidplugins', 'vidplugins.*')),
        include_package_data=True,
        package_data={'vidplugins': ['.mim/**/*', '.mim/*']},
        install_requires=read_requirements('openmmlab.txt') + read_requirements('runtime.txt'),
        extras_require={'tests': read_requirements('tests.txt')},
        zip_safe=False)
