"""PersonArt gallery query speed: one relevance-feedback query over a large gallery.

A timed query is what the museum app does when a visitor marks one result relevant and one not
relevant: Eq. A.22 (query movement), Eq. A.23 (warping of EVERY gallery item), the attribute
similarity (Eq. A.20) and the final score (Eq. A.21) of every item, then the top k. Ours keeps the
warped gallery in closed form (``FeedbackState``: one read of the (N, D) gallery per iteration,
by the one-pass numba kernels of ``vidplugins/personart/kernels.py`` split over ``--threads``
threads); the baseline is the same steps in plain NumPy on the explicit (N, D) gallery. Both run in
this process on the same data and must return the same top k (ids and scores). Also timed: the
faiss index build, and a first query (no feedback) by our fused scan, through the faiss index
(``search(use_index=True)``) and in plain NumPy.

On a machine shared with other jobs the wall time waits for the cores; the script also prints the
process CPU time and the CPU time of the busiest thread of each query, which is the wall time the
query takes on as many free cores as threads (memory contention from the other jobs included).

    python benchmarks/bench_personart.py [--gallery 100000] [--sessions 10] [--threads 2]

Last line: {"gallery": N, "query_ms_p50": x, "speedup_vs_numpy": y}
"""
import argparse
import json
import threading
import time

import numpy as np

from vidplugins.personart import kernels
from vidplugins.personart.feedback import feature_space_warping, query_point_movement
from vidplugins.personart.gallery import FaceGallery


def numpy_query(gallery, q, bits, qbits, p, n, k, lam):
    """Reference: the same feedback query on the explicit gallery (returns new gallery too)."""
    q = query_point_movement(q, gallery[p], gallery[n])
    gallery = feature_space_warping(gallery, gallery[p], gallery[n], q)
    s_i = 1 - ((gallery - q) ** 2).sum(1) / 2
    s_a = 1.0 - (bits != qbits[None]).sum(1) / bits.shape[1]
    s = (1 + s_i) / 2 + lam * s_a
    top = np.argsort(-s, kind='stable')[:k]
    return gallery, q, top, s[top]


def numpy_first_query(x, bits, q, qbits, k, lam):
    """Reference: Eq. A.18, A.20, A.21 and the top k of one query, no feedback."""
    s = (1 + x @ q) / 2 + lam * (1.0 - (bits != qbits[None]).sum(1) / bits.shape[1])
    top = np.argsort(-s, kind='stable')[:k]
    return top, s[top]


def check_same(what, ids, sc, ids_ref, sc_ref, tol=1e-4):
    """Same scores, and the same ids wherever the reference's scores are not tied within tol."""
    if len(ids) != len(ids_ref) or not np.allclose(sc, sc_ref, atol=tol):
        raise SystemExit(f'{what}: scores differ from the NumPy reference '
                         f'({sc[:3]} vs {sc_ref[:3]})')
    gap = np.diff(sc_ref)
    clear = np.ones(len(ids_ref), bool)
    clear[:-1] &= np.abs(gap) > tol
    clear[1:] &= np.abs(gap) > tol
    if not np.array_equal(ids[clear], ids_ref[clear]):
        raise SystemExit(f'{what}: top ids differ from the NumPy reference '
                         f'({ids.tolist()} vs {ids_ref.tolist()})')


class ThreadTimes:
    """CPU time per thread of the kernels' parallel ranges (wraps ``kernels._parallel``)."""

    def __init__(self):
        self.pool = []  # CPU seconds of the ranges run by the pool's threads
        self._parallel = kernels._parallel
        kernels._parallel = self.run

    def run(self, func, args, n):
        main = threading.get_ident()

        def timed(*a):
            t = time.thread_time()
            out = func(*a)
            if threading.get_ident() != main:
                self.pool.append(time.thread_time() - t)
            return out
        return self._parallel(timed, args, n)

    def busiest(self, main_cpu):
        """The CPU time of the thread that worked longest in one query (the calling thread's
        ``main_cpu`` or a pool range): with the threads side by side on free cores, the query's
        wall time (memory contention from other jobs still included)."""
        out = max([main_cpu] + self.pool)
        self.pool = []
        return out

    def close(self):
        kernels._parallel = self._parallel


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument('--gallery', type=int, default=100000)
    ap.add_argument('--dim', type=int, default=128)
    ap.add_argument('--attributes', type=int, default=40)
    ap.add_argument('--sessions', type=int, default=10)
    ap.add_argument('--iterations', type=int, default=5, help='feedback steps per session')
    ap.add_argument('--k', type=int, default=10)
    ap.add_argument('--lam', type=float, default=0.2)
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--threads', type=int, default=kernels.num_threads(),
                    help='threads of our kernels (default: the cores this process may use)')
    args = ap.parse_args(argv)
    if not kernels.available():
        raise SystemExit('numba is missing (requirements/runtime.txt): nothing fast to measure')
    kernels.set_num_threads(args.threads)
    rng = np.random.default_rng(args.seed)
    n, d = args.gallery, args.dim
    # clustered unit vectors (identities with several faces each), random attributes
    centres = rng.standard_normal((max(1, n // 20), d)).astype(np.float32)
    x = centres[rng.integers(len(centres), size=n)] + 0.6 * rng.standard_normal((n, d)).astype(
        np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    bits = rng.random((n, args.attributes)) < 0.3
    t0 = time.perf_counter()
    gallery = FaceGallery(x, bits)
    build_s = time.perf_counter() - t0
    print(f'gallery {n} x {d}, {args.attributes} attributes: faiss index '
          f'({"exact" if gallery.exact else "compressed"}) built in {build_s * 1e3:.0f} ms')

    # compile the kernels (cached on disk after the first run) outside the timings
    gallery.search(x[0], bits[0], args.k, args.lam)
    gallery.open_session(x[0], bits[0]).feedback(0, 1)
    ours, base, first, first_cpu, first_faiss, first_np, ours_cpu = [], [], [], [], [], [], []
    ours_busiest, first_busiest, threads = [], [], ThreadTimes()
    try:
        for s in range(args.sessions):
            q = x[rng.integers(n)] + 0.3 * rng.standard_normal(d).astype(np.float32)
            q /= np.linalg.norm(q)
            qbits = rng.random(args.attributes) < 0.3
            t, c, tc = time.perf_counter(), time.process_time(), time.thread_time()
            ids, sc = gallery.search(q, qbits, args.k, args.lam)
            first.append(time.perf_counter() - t)
            first_cpu.append(time.process_time() - c)
            first_busiest.append(threads.busiest(time.thread_time() - tc))
            t = time.perf_counter()
            ids_f, sc_f = gallery.search(q, qbits, args.k, args.lam, use_index=True)
            first_faiss.append(time.perf_counter() - t)
            t = time.perf_counter()
            ids_np, sc_np = numpy_first_query(x, bits, q, qbits, args.k, args.lam)
            first_np.append(time.perf_counter() - t)
            check_same(f'session {s} first query', ids, sc, ids_np, sc_np)
            check_same(f'session {s} first query (faiss)', ids_f, sc_f, ids_np, sc_np)
            session = gallery.open_session(q, qbits)
            g_ref, q_ref = x.astype(np.float32).copy(), q.copy()
            for it in range(args.iterations):
                p, neg = int(ids[0]), int(ids[-1])
                t, c, tc = time.perf_counter(), time.process_time(), time.thread_time()
                session.feedback(p, neg)
                ids, sc = session.rank(args.k, args.lam)
                ours.append(time.perf_counter() - t)
                ours_cpu.append(time.process_time() - c)
                ours_busiest.append(threads.busiest(time.thread_time() - tc))
                t = time.perf_counter()
                g_ref, q_ref, top_ref, sc_ref = numpy_query(g_ref, q_ref, bits, qbits, p, neg,
                                                            args.k, args.lam)
                base.append(time.perf_counter() - t)
                check_same(f'session {s} iteration {it}', ids, sc, top_ref, sc_ref)
            gallery.close_session(session.id)
    finally:
        threads.close()
    p50 = float(np.median(ours) * 1e3)
    p50_base = float(np.median(base) * 1e3)

    def ms(v):
        return f'{np.median(v) * 1e3:.2f} ms'

    print(f'threads: {args.threads}')
    print(f'first query, ours (one fused pass): p50 {ms(first)} (CPU time {ms(first_cpu)}, '
          f'busiest thread {ms(first_busiest)}, fastest {min(first) * 1e3:.2f} ms); '
          f'faiss index + Eq. A.21 re-rank: p50 {ms(first_faiss)}; plain NumPy: p50 '
          f'{ms(first_np)} ({np.median(first_np) / np.median(first):.2f}x; same top-{args.k})')
    # CPU time of this process (all its threads): on a machine shared with other jobs the wall
    # time waits for the cores, the CPU time does not
    print(f'feedback query, ours: CPU time p50 {ms(ours_cpu)} (all threads); busiest thread '
          f'p50 {ms(ours_busiest)} (the wall time on {args.threads} free cores, '
          f'memory contention from other jobs included)')
    print(f'feedback query, ours: p50 {p50:.2f} ms (fastest {min(ours) * 1e3:.2f} ms); plain '
          f'NumPy: p50 {p50_base:.2f} ms ({len(ours)} queries, same top-{args.k}; '
          f'{p50_base / p50:.2f}x)')
    print(json.dumps(dict(gallery=n, query_ms_p50=round(p50, 3),
                          speedup_vs_numpy=round(p50_base / p50, 2))))


if __name__ == '__main__':
    main()
