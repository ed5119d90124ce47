"""One-pass gallery kernels of PersonArt (numba, no GIL, split over a few threads).

A museum query touches every gallery item once: its identity similarity (a dot product with the
query, Eq. A.18, or after feedback the warped distance of Eq. A.23), its attribute similarity
(Eq. A.20, the Hamming distance of 64-bit packed codes), the final score (Eq. A.21), attribute
constraints and the top k. NumPy does each step as its own pass over (N,) / (N, D) temporaries;
these kernels do them in one pass per item range, writing only preallocated outputs, and the
ranges run in parallel threads (the kernels release the GIL). The maths is the one of
``feedback.FeedbackState`` and ``gallery.FaceGallery.scores``, which stay the reference (and the
path used without numba).

Shapes: ``N`` gallery items, ``D`` embedding size, ``T`` feedback iterations of a session so far.
"""
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Optional, Tuple

import numpy as np

try:  # numba is pinned in requirements/runtime.txt; without it the NumPy reference paths run
    import numba
except ImportError:  # pragma: no cover - exercised only where numba is missing
    numba = None

__all__ = ['available', 'num_threads', 'set_num_threads', 'dots', 'rank', 'warp_step']

# reassociation lets LLVM vectorise the float32 dot products (rounding differs from BLAS by
# ~1e-7); no 'nnan' / 'ninf': filtered items are -inf
_FASTMATH = {'reassoc', 'contract', 'nsz', 'arcp'}
_MIN_CHUNK = 16384  # items per thread below which one thread does the whole range


def _jit(**kw):
    def wrap(func):
        if numba is None:
            return None
        return numba.njit(nogil=True, cache=True, **kw)(func)
    return wrap


def available() -> bool:
    """Whether the compiled kernels can run (numba installed)."""
    return numba is not None


# ---------------------------------------------------------------- threads
_threads = max(1, len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity')
               else (os.cpu_count() or 1))
_threads = int(os.environ.get('PERSONART_THREADS', _threads))
_pool: Optional[ThreadPoolExecutor] = None
_pool_lock = threading.Lock()


def num_threads() -> int:
    return _threads


def set_num_threads(n: int) -> None:
    """Threads a kernel call is split over (the calling thread included)."""
    global _threads, _pool
    with _pool_lock:
        _threads = max(1, int(n))
        if _pool is not None:
            _pool.shutdown(wait=False)
            _pool = None


def _ranges(n: int):
    parts = max(1, min(_threads, n // _MIN_CHUNK))
    bounds = np.linspace(0, n, parts + 1).astype(np.int64)
    return list(zip(bounds[:-1].tolist(), bounds[1:].tolist()))


def _parallel(func, args, n: int):
    """Run ``func(*args, lo, hi)`` over [0, n) split in ranges; results in range order."""
    global _pool
    ranges = _ranges(n)
    if len(ranges) == 1:
        return [func(*args, 0, n)]
    with _pool_lock:  # the app serves requests from several threads
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=_threads - 1, thread_name_prefix='personart')
        pool = _pool
    futures = [pool.submit(func, *args, lo, hi) for lo, hi in ranges[1:]]
    first = func(*args, *ranges[0])
    return [first] + [f.result() for f in futures]


# ---------------------------------------------------------------- kernels
@_jit(fastmath=_FASTMATH)
def _dots_kernel(x, v, out, lo, hi):
    """out[i, j] = x[i] . v[j] for i in [lo, hi). x (N, D), v (K, D) K <= 3, out (N, K)."""
    d, k = x.shape[1], v.shape[0]
    for i in range(lo, hi):
        s0 = np.float32(0.0)
        s1 = np.float32(0.0)
        s2 = np.float32(0.0)
        if k == 1:
            for j in range(d):
                s0 += x[i, j] * v[0, j]
            out[i, 0] = s0
        elif k == 2:
            for j in range(d):
                s0 += x[i, j] * v[0, j]
                s1 += x[i, j] * v[1, j]
            out[i, 0] = s0
            out[i, 1] = s1
        else:
            for j in range(d):
                s0 += x[i, j] * v[0, j]
                s1 += x[i, j] * v[1, j]
                s2 += x[i, j] * v[2, j]
            out[i, 0] = s0
            out[i, 1] = s1
            out[i, 2] = s2
    return 0


@_jit()
def _popcount64(v):
    v = v - ((v >> np.uint64(1)) & np.uint64(0x5555555555555555))
    v = (v & np.uint64(0x3333333333333333)) + ((v >> np.uint64(2)) & np.uint64(0x3333333333333333))
    v = (v + (v >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return (v * np.uint64(0x0101010101010101)) >> np.uint64(56)


@_jit(fastmath=_FASTMATH)
def _rank_kernel(sims, codes, qcode, inv_n, lam, cmask, cval, k, lo, hi):
    """Eq. A.21 (+ Eq. A.20 on packed codes, constraints as code masks) and the top k of [lo, hi).

    sims (N,) s_i; codes (N,) uint64 or empty (no attributes); an item is kept when
    ``codes & cmask == cval``. Returns (scores (k',), ids (k',)) sorted by decreasing score, ties
    by increasing id (a stable sort of -s), k' <= k.
    """
    top_s = np.empty(k, np.float32)
    top_i = np.empty(k, np.int64)
    count = 0
    use_codes = codes.shape[0] > 0
    half = np.float32(0.5)
    for i in range(lo, hi):
        s = (np.float32(1.0) + sims[i]) * half
        if use_codes:
            c = codes[i]
            if (c & cmask) != cval:
                continue
            h = _popcount64(c ^ qcode)
            s += lam * (np.float32(1.0) - np.float32(h) * inv_n)
        if count == k and not s > top_s[k - 1]:
            continue
        j = count if count < k else k - 1
        while j > 0 and top_s[j - 1] < s:
            top_s[j] = top_s[j - 1]
            top_i[j] = top_i[j - 1]
            j -= 1
        top_s[j] = s
        top_i[j] = i
        if count < k:
            count += 1
    return top_s[:count], top_i[:count]


@_jit(fastmath=_FASTMATH)
def _warp_kernel(x, a, B, t, Qv, norm2, fq, use_fq, sims, v, np_p, np_n, qq, pos, neg, alpha,
                 beta, gamma, eta, c, lo, hi):
    """One feedback iteration (Eq. A.23 in closed form) for items [lo, hi), in place.

    Item i is ``f_i = a_i x_i + B_i[:t] Q`` (``Q`` the session's past queries). ``v`` (3, D) holds
    f_p, f_n and the moved query q (Eq. A.22), ``Qv = Q v^T`` (t, 3). Per item: ``f_i . v`` from
    one read of x_i, the distances to f_p and f_n, the weight ``w = eta (e^{-c d_p} - e^{-c d_n})``,
    ``f_i <- (1 - w) f_i + w q`` (a_i, B_i scaled, B_i[t] = w), ``|f_i|^2``, ``f_i . q`` (in
    ``fq``) and ``s_i = 1 - |f_i - q|^2 / 2`` written to ``sims``. With ``use_fq`` (``fq`` holds
    ``f_i . q_old``) the product with the moved query needs no pass over D: by Eq. A.22,
    ``f_i . q = alpha f_i . q_old + beta f_i . f_p - gamma f_i . f_n``.
    """
    d = x.shape[1]
    one = np.float32(1.0)
    two = np.float32(2.0)
    zero = np.float32(0.0)
    for i in range(lo, hi):
        s0 = np.float32(0.0)
        s1 = np.float32(0.0)
        s2 = np.float32(0.0)
        if use_fq:
            for j in range(d):
                s0 += x[i, j] * v[0, j]
                s1 += x[i, j] * v[1, j]
        else:
            for j in range(d):
                s0 += x[i, j] * v[0, j]
                s1 += x[i, j] * v[1, j]
                s2 += x[i, j] * v[2, j]
        ai = a[i]
        s0 *= ai
        s1 *= ai
        s2 *= ai
        for u in range(t):
            b = B[i, u]
            s0 += b * Qv[u, 0]
            s1 += b * Qv[u, 1]
            s2 += b * Qv[u, 2]
        if use_fq:
            s2 = alpha * fq[i] + beta * s0 - gamma * s1
        n2 = norm2[i]
        # |f - f_p|^2 by expansion cancels to rounding noise near 0, which the square root
        # magnifies: the fed-back items themselves get their exact 0
        d_p = zero if i == pos else np.sqrt(max(n2 + np_p - two * s0, zero))
        d_n = zero if i == neg else np.sqrt(max(n2 + np_n - two * s1, zero))
        w = eta * (np.exp(-c * d_p) - np.exp(-c * d_n))
        keep = one - w
        n2 = keep * keep * n2 + two * w * keep * s2 + w * w * qq
        norm2[i] = n2
        a[i] = ai * keep
        for u in range(t):
            B[i, u] *= keep
        B[i, t] = w
        fqi = keep * s2 + w * qq
        fq[i] = fqi
        sims[i] = one - (n2 + qq - two * fqi) / two
    return 0


# ---------------------------------------------------------------- entry points
def dots(x: np.ndarray, v: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``out = x v^T``: x (N, D) float32 C-contiguous, v (K, D) with K <= 3, out (N, K)."""
    v = np.ascontiguousarray(v, dtype=np.float32)
    _parallel(_dots_kernel, (x, v, out), len(x))
    return out


_NO_CODES = np.zeros(0, np.uint64)


def rank(sims: np.ndarray, k: int, codes: Optional[np.ndarray] = None, query_code: int = 0,
         num_attributes: int = 1, lam: float = 0.0, constraint_mask: int = 0,
         constraint_value: int = 0) -> Tuple[np.ndarray, np.ndarray]:
    """Top k of Eq. A.21 over the gallery: (ids (k',), scores (k',)), k' <= k.

    Args:
        sims: (N,) float32 identity similarities s_i.
        codes: (N,) uint64 packed attributes (bit j = attribute j) or None (no attribute term,
            no constraints). query_code: the query's packed attributes.
        constraint_mask / constraint_value: keep items with ``codes & mask == value``.
    """
    n = len(sims)
    k = min(int(k), n)
    if k <= 0:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    if codes is None:
        codes, lam, constraint_mask, constraint_value = _NO_CODES, 0.0, 0, 0
    parts = _parallel(_rank_kernel, (sims, codes, np.uint64(query_code),
                                     np.float32(1.0 / num_attributes), np.float32(lam),
                                     np.uint64(constraint_mask), np.uint64(constraint_value), k),
                      n)
    if len(parts) == 1:
        s, i = parts[0]
        return i, s
    s = np.concatenate([p[0] for p in parts])
    i = np.concatenate([p[1] for p in parts])
    order = np.argsort(-s, kind='stable')[:k]   # ranges are in id order: ties by id
    return i[order], s[order]


def warp_step(x, a, B, t, Qv, norm2, fq, use_fq, sims, v, np_p, np_n, qq, pos, neg, alpha, beta,
              gamma, eta, c) -> None:
    """Run :func:`_warp_kernel` over the whole gallery (all arrays updated in place)."""
    f32 = np.float32
    _parallel(_warp_kernel, (x, a, B, int(t), Qv, norm2, fq, bool(use_fq), sims, v, f32(np_p),
                             f32(np_n), f32(qq), int(pos), int(neg), f32(alpha), f32(beta),
                             f32(gamma), f32(eta), f32(c)), len(x))
