"""PersonArt gallery query speed: one relevance-feedback query over a large gallery.

A timed query is what the museum app does when a visitor marks one result relevant and one not
relevant: Eq. A.22 (query movement), Eq. A.23 (warping of EVERY gallery item), the attribute
similarity (Eq. A.20) and the final score (Eq. A.21) of every item, then the top k. Ours keeps the
warped gallery in closed form (``FeedbackState``: one (N, D) x (D, 3) product per iteration); the
baseline is the same steps in plain NumPy on the explicit (N, D) gallery. Both run in this process
on the same data and must return the same top k. Also timed: the faiss index build and a first
query (no feedback) through it.

    python benchmarks/bench_personart.py [--gallery 100000] [--dim 128] [--sessions 10]

Last line: {"gallery": N, "query_ms_p50": x, "speedup_vs_numpy": y}
"""
import argparse
import json
import time

import numpy as np

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
    args = ap.parse_args(argv)
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

    ours, base, first, ours_cpu = [], [], [], []
    for s in range(args.sessions):
        q = x[rng.integers(n)] + 0.3 * rng.standard_normal(d).astype(np.float32)
        q /= np.linalg.norm(q)
        qbits = rng.random(args.attributes) < 0.3
        t = time.perf_counter()
        ids, _ = gallery.search(q, qbits, args.k, args.lam)
        first.append(time.perf_counter() - t)
        session = gallery.open_session(q, qbits)
        g_ref, q_ref = x.astype(np.float32).copy(), q.copy()
        for it in range(args.iterations):
            p, neg = int(ids[0]), int(ids[-1])
            t, c = time.perf_counter(), time.process_time()
            session.feedback(p, neg)
            ids, sc = session.rank(args.k, args.lam)
            ours.append(time.perf_counter() - t)
            ours_cpu.append(time.process_time() - c)
            t = time.perf_counter()
            g_ref, q_ref, top_ref, sc_ref = numpy_query(g_ref, q_ref, bits, qbits, p, neg,
                                                        args.k, args.lam)
            base.append(time.perf_counter() - t)
            if not np.allclose(sc, sc_ref, atol=1e-4):
                raise SystemExit(f'session {s} iteration {it}: scores differ from the NumPy '
                                 f'reference ({sc[:3]} vs {sc_ref[:3]})')
        gallery.close_session(session.id)
    p50 = float(np.median(ours) * 1e3)
    p50_base = float(np.median(base) * 1e3)
    print(f'first query (faiss + Eq. A.21 re-rank): p50 {np.median(first) * 1e3:.2f} ms')
    # CPU time of this process (all its threads): on a machine shared with other jobs the wall
    # time waits for the cores, the CPU time does not
    print(f'feedback query, ours: CPU time p50 {np.median(ours_cpu) * 1e3:.2f} ms')
    print(f'feedback query, ours: p50 {p50:.2f} ms; plain NumPy: p50 {p50_base:.2f} ms '
          f'({len(ours)} queries, same top-{args.k} scores)')
    print(json.dumps(dict(gallery=n, query_ms_p50=round(p50, 3),
                          speedup_vs_numpy=round(p50_base / p50, 2))))


if __name__ == '__main__':
    main()
