"""Gallery search (faiss + Eq. A.21), constraints, feedback sessions and the evaluation protocol."""
import numpy as np
import pytest

from vidplugins.personart import kernels
from vidplugins.personart.feedback import feature_space_warping, query_point_movement
from vidplugins.personart.gallery import FaceGallery
from vidplugins.personart.metrics import (average_precision, evaluate_retrieval,
                                          feedback_average_precision)

from .conftest import unit_rows


def full_scan(x, bits, q, qbits, lam, constraints=None):
    s = (1 + x @ q) / 2 + lam * (1 - (bits != qbits).sum(1) / bits.shape[1])
    if constraints:
        for k, v in constraints.items():
            s = np.where(bits[:, k] == v, s, -np.inf)
    return s


@pytest.fixture
def split_kernels(monkeypatch):
    """The one-pass kernels split even small galleries over 3 threads (merge of the ranges)."""
    monkeypatch.setattr(kernels, '_MIN_CHUNK', 50)
    before = kernels.num_threads()
    kernels.set_num_threads(3)
    yield
    kernels.set_num_threads(before)


@pytest.mark.parametrize('use_index', [False, True])
@pytest.mark.parametrize('lam', [0.0, 0.2, 5.0])
def test_search_equals_full_scan(lam, use_index, split_kernels):
    rng = np.random.default_rng(0)
    x, bits = unit_rows(rng, 500, 16), rng.random((500, 40)) < 0.4
    x[100:110] = x[5]           # ties: equal scores rank by increasing id
    bits[100:110] = bits[5]
    g = FaceGallery(x, bits)
    assert g.exact
    queries = [(x[5], bits[5])] + [(unit_rows(rng, 1, 16)[0], rng.random(40) < 0.4)
                                   for _ in range(4)]
    for q, qb in queries:
        for cons in (None, {3: True, 7: False}):
            ids, sc = g.search(q, qb, k=10, lam=lam, constraints=cons, use_index=use_index)
            ref = full_scan(x, bits, q, qb, lam, cons)
            order = np.argsort(-ref, kind='stable')[:10]
            assert np.allclose(sc, ref[order], atol=1e-5)
            if not use_index:
                assert ids.tolist() == order.tolist()
            if cons:
                assert bits[ids, 3].all() and not bits[ids, 7].any()
    ids, _ = g.search(x[5], bits[5], k=11, lam=lam, use_index=use_index)
    assert ids.tolist() == [5] + list(range(100, 110))
    names = g.attribute_names
    ids, _ = g.search(q, qb, k=5, constraints={names[3]: True}, use_index=use_index)
    assert bits[ids, 3].all()
    # contradictory constraints: nothing; more than the gallery: all of it
    assert len(g.search(q, qb, constraints={3: True, names[3]: False})[0]) == 0
    assert sorted(g.search(q, qb, k=1000, use_index=use_index)[0].tolist()) == list(range(500))


def test_search_without_or_with_many_attributes(split_kernels):
    rng = np.random.default_rng(5)
    x = unit_rows(rng, 300, 8)
    q = unit_rows(rng, 1, 8)[0]
    g = FaceGallery(x)
    ids, sc = g.search(q, rng.random(40) < 0.5, k=7)   # no gallery attributes: s_a ignored
    assert ids.tolist() == np.argsort(-(x @ q), kind='stable')[:7].tolist()
    assert np.allclose(sc, (1 + np.sort(x @ q)[::-1][:7]) / 2, atol=1e-6)
    with pytest.raises(ValueError, match='constraints need gallery attributes'):
        g.search(q, k=3, constraints={0: True})
    bits = rng.random((300, 70)) < 0.5                 # over 64 attributes: the NumPy path
    qb = rng.random(70) < 0.5
    g = FaceGallery(x, bits)
    ids, sc = g.search(q, qb, k=7, lam=0.5, constraints={65: True})
    ref = full_scan(x, bits, q, qb, 0.5, {65: True})
    assert ids.tolist() == np.argsort(-ref, kind='stable')[:7].tolist()


@pytest.fixture
def one_faiss_thread():
    # faiss's OpenMP threads spin-wait: on a shared, loaded machine one thread is much faster
    import faiss
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    yield
    faiss.omp_set_num_threads(before)


def test_compressed_index_finds_true_neighbours(one_faiss_thread):
    rng = np.random.default_rng(1)
    centres = unit_rows(rng, 100, 32)
    x = centres[rng.integers(100, size=2000)] + 0.05 * rng.standard_normal((2000, 32))
    x = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    # a compressed index (8-bit scalar codes, 16 inverted lists) with the exact re-rank
    g = FaceGallery(x, None, factory='IVF16,SQ8')
    assert not g.exact
    hits = 0
    for i in range(20):
        q = x[i * 7]
        ids, sc = g.search(q, k=5)
        ref = np.argsort(-(x @ q))[:5]
        hits += len(set(ids) & set(ref))
    assert hits / 100 >= 0.9


def test_session_ranking_follows_warped_gallery(tmp_path, split_kernels):
    rng = np.random.default_rng(2)
    x, bits = unit_rows(rng, 300, 8), rng.random((300, 40)) < 0.5
    g = FaceGallery(x, bits)
    q, qb = unit_rows(rng, 1, 8)[0], rng.random(40) < 0.5
    s = g.open_session(q, qb)
    gal, qq = x.astype(np.float64), q.astype(np.float64)
    for p, n in ((1, 2), (1, 50), (7, 2)):
        s.feedback(p, n)
        f_p, f_n = gal[p].copy(), gal[n].copy()
        qq = query_point_movement(qq, f_p, f_n)
        gal = feature_space_warping(gal, f_p, f_n, qq)
    ids, sc = s.rank(k=10, lam=0.2)
    s_i = 1 - ((gal - qq) ** 2).sum(1) / 2      # = the cosine before feedback
    ref = (1 + s_i) / 2 + 0.2 * (1 - (bits != qb).sum(1) / 40)
    assert np.allclose(sc, np.sort(ref)[::-1][:10], atol=1e-5)
    assert ids.tolist() == np.argsort(-ref, kind='stable')[:10].tolist()
    ids, sc = s.rank(k=10, lam=0.2, constraints={'Bald': False})
    ok = ~bits[:, 4]
    ref_c = np.where(ok, ref, -np.inf)
    assert ids.tolist() == np.argsort(-ref_c, kind='stable')[:10].tolist()
    with pytest.raises(IndexError, match='positive item 300 is not in the gallery'):
        s.feedback(300, 1)
    path = str(tmp_path / 'g.npz')
    g.meta[0]['path'] = 'a.jpg'
    g.save(path)
    g2 = FaceGallery.load(path)
    assert np.array_equal(g2.x, x) and np.array_equal(g2.attributes, bits)
    assert g2.meta[0]['path'] == 'a.jpg'


def test_feedback_raises_average_precision():
    """Table A.8 protocol on clustered embeddings: AP grows with feedback iterations."""
    rng = np.random.default_rng(4)
    ids = np.repeat(np.arange(30), 6)
    centres = unit_rows(rng, 30, 16)
    gallery = centres[ids] + 0.45 * rng.standard_normal((180, 16))
    gallery = (gallery / np.linalg.norm(gallery, axis=1, keepdims=True)).astype(np.float32)
    qid = np.arange(30)
    queries = centres[qid] + 0.45 * rng.standard_normal((30, 16))
    queries = (queries / np.linalg.norm(queries, axis=1, keepdims=True)).astype(np.float32)
    relevant = qid[:, None] == ids[None]
    ap = feedback_average_precision(gallery, queries, relevant, iterations=(1, 5, 10))
    assert ap['AP@fb0'] < ap['AP@fb5'] < ap['AP@fb10']
    assert ap['AP@fb10'] - ap['AP@fb0'] > 10
    # AP@fb0 is the plain AP of the cosine ranking
    ref = np.mean([average_precision(gallery @ queries[i], relevant[i]) for i in range(30)])
    assert ap['AP@fb0'] == pytest.approx(100 * ref, abs=1e-6)
    # the whole evaluation from predicted items
    q = [dict(embedding=queries[i], identity=qid[i], source=1000 + i) for i in range(30)]
    g = [dict(embedding=gallery[i], identity=ids[i], source=i) for i in range(180)]
    m = evaluate_retrieval(q, g, fb_iters=(1, ))
    r1 = np.mean([relevant[i][np.argmax(gallery @ queries[i])] for i in range(30)]) * 100
    assert m['R@1'] == pytest.approx(r1)


def test_concurrent_searches_and_sessions(split_kernels):
    """The app answers requests from a thread pool: concurrent searches and feedback sessions give
    the results of serial ones (per-thread buffers, one shared kernel pool)."""
    from concurrent.futures import ThreadPoolExecutor
    rng = np.random.default_rng(6)
    x, bits = unit_rows(rng, 400, 16), rng.random((400, 40)) < 0.4
    g = FaceGallery(x, bits)
    queries = [(unit_rows(rng, 1, 16)[0], rng.random(40) < 0.4) for _ in range(8)]

    def run(qb):
        q, b = qb
        ids, sc = g.search(q, b, k=10)
        s = g.open_session(q, b)
        s.feedback(int(ids[0]), int(ids[-1]))
        ids2, sc2 = s.rank(k=10)
        g.close_session(s.id)
        return ids.tolist(), sc.tolist(), ids2.tolist(), sc2.tolist()

    serial = [run(qb) for qb in queries]
    with ThreadPoolExecutor(4) as pool:
        for _ in range(3):
            assert list(pool.map(run, queries)) == serial
    assert g.search(queries[0][0], k=0)[0].tolist() == []


def test_benchmark_script_checks_against_numpy(capsys, split_kernels):
    """benchmarks/bench_personart.py on a small gallery: every query equals the plain NumPy steps
    (the script exits otherwise) and the last line is the JSON summary (no timing asserted)."""
    import importlib.util
    import json
    import os.path as osp
    path = osp.join(osp.dirname(__file__), '..', '..', 'benchmarks', 'bench_personart.py')
    spec = importlib.util.spec_from_file_location('bench_personart', path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    bench.main(['--gallery', '3000', '--sessions', '2', '--iterations', '3', '--threads', '3'])
    last = capsys.readouterr().out.strip().splitlines()[-1]
    out = json.loads(last)
    assert out['gallery'] == 3000 and out['query_ms_p50'] > 0 and out['speedup_vs_numpy'] > 0
    # its per-thread timer is removed again
    assert kernels._parallel.__module__ == kernels.__name__
