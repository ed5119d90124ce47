import os.path as osp

import pytest


@pytest.fixture(scope='session')
def demo_images(tmp_path_factory):
    """Generated paintings / photos (32 x 32, four classes) with their label maps."""
    from vidplugins.demo_data.art2real_images import generate_art2real
    root = str(tmp_path_factory.mktemp('art2real_images'))
    generate_art2real(root, n_paintings=6, n_photos=8, n_test=2, size=32, seed=3)
    return root


@pytest.fixture(scope='session')
def demo_banks(demo_images, tmp_path_factory):
    """Banks of the generated photos at two scales (exact indexes)."""
    from vidplugins.art2real.banks import build_banks
    out = str(tmp_path_factory.mktemp('banks'))
    build_banks(osp.join(demo_images, 'trainB'), out, scales='4:4,8:5',
                segmenter=dict(type='labelmap', label_dir=osp.join(demo_images, 'labelsB')),
                progress=False, logger=lambda *a: None)
    return out


@pytest.fixture(scope='session', autouse=True)
def one_faiss_thread():
    """faiss's OpenMP threads spin at barriers: on the shared 2-core CI machines under load one
    thread is orders of magnitude faster (PQ training 0.3 s instead of 30 s, measured)."""
    import faiss
    old = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    yield
    faiss.omp_set_num_threads(old)
