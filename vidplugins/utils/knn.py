"""Cosine k-NN over a large set of float rows with bounded RAM (faiss), shared by the methods that
search banks or galleries (Art2Real's patch memory banks, thesis App. A.1).

The rows live on disk as raw float32 (``RawRows``: ``N x D`` little-endian, no header, the layout
of the Art2Real authors' ``.bin`` banks). The index holds either the centred, L2-normalised rows
(exact, small banks) or a compressed code of them (``PCAR,IVF,PQ``: tens of bytes per row); a
compressed search returns ``candidates`` rows per query, which are read back from disk and
re-ranked with the exact cosine, so the answer is exact whenever the true neighbours are among the
candidates. RAM therefore grows with the codes, not with the rows.
"""
from __future__ import annotations

import math
import os
import os.path as osp
from dataclasses import dataclass

import numpy as np

__all__ = ['RawRows', 'CosineIndex', 'build_cosine_index', 'normalize_rows']


def normalize_rows(x: np.ndarray, mean: np.ndarray | None = None) -> np.ndarray:
    """``(x - mean) / ||x - mean||`` row-wise, float32; zero rows stay zero.  ``(N, D) -> (N, D)``"""
    x = np.asarray(x, dtype=np.float32)
    if mean is not None:
        x = x - mean.astype(np.float32)
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    return np.ascontiguousarray(x / np.maximum(norm, 1e-12), dtype=np.float32)


class RawRows:
    """Read access to a raw float32 row file (``N x dim``).

    ``take`` reads the rows asked for with positioned reads (one per run of consecutive rows),
    never mapping the file: the resident memory holds the rows asked for only. Files of at most
    ``cache_bytes`` are read into RAM once (small banks: training reads them every step).
    """

    def __init__(self, path: str, dim: int, cache_bytes: int = 64 << 20):
        self.path, self.dim = path, int(dim)
        self.row_bytes = 4 * self.dim
        size = osp.getsize(path)
        if size % self.row_bytes:
            raise ValueError(f'{path}: size {size} is not a multiple of the row size '
                             f'{self.row_bytes} (dim {dim} float32); the file is truncated')
        self.n = size // self.row_bytes
        self._cache = None
        if size <= cache_bytes:
            self._cache = np.fromfile(path, dtype='<f4').reshape(self.n, self.dim)

    def __len__(self) -> int:
        return self.n

    def chunks(self, rows: int = 65536):
        """Yield ``(start, array (r, dim))`` over the file, ``rows`` at a time."""
        with open(self.path, 'rb') as f:
            for start in range(0, self.n, rows):
                count = min(rows, self.n - start)
                f.seek(start * self.row_bytes)
                arr = np.fromfile(f, dtype='<f4', count=count * self.dim)
                yield start, arr.reshape(count, self.dim)

    def sample(self, count: int, seed: int = 0) -> np.ndarray:
        """``count`` distinct random rows (all rows when the file has fewer). ``(count, dim)``"""
        if count >= self.n:
            return self.take(np.arange(self.n))
        ids = np.random.default_rng(seed).choice(self.n, size=count, replace=False)
        return self.take(ids)

    def take(self, ids: np.ndarray) -> np.ndarray:
        """Rows ``ids`` (any shape, ``-1`` gives a zero row). ``ids.shape + (dim,)``"""
        ids = np.asarray(ids, dtype=np.int64)
        valid = ids >= 0
        if not valid.any():
            return np.zeros(ids.shape + (self.dim,), dtype=np.float32)
        if self._cache is not None:
            out = self._cache[np.where(valid, ids, 0)]
        else:
            uniq, inverse = np.unique(np.where(valid, ids, ids[valid].min()), return_inverse=True)
            out = self._read_sorted(uniq)[inverse.reshape(ids.shape)]
        if not valid.all():
            out[~valid] = 0
        return out

    def _read_sorted(self, uniq: np.ndarray) -> np.ndarray:
        """Rows of the sorted, distinct ids ``uniq`` ``(U,)`` read from the file. ``(U, dim)``"""
        if uniq[-1] >= self.n:
            raise IndexError(f'{self.path}: row {int(uniq[-1])} out of range ({self.n} rows)')
        # One positioned read (pread) per run of consecutive rows, straight into the output:
        # nothing of the file is mapped, so the process's resident memory holds only the rows
        # asked for, and there is no kernel read-ahead around them (a file larger than the page
        # cache was otherwise read ~10x over by a 10M-row re-rank). Measured on a 1M-row bank
        # against gathering from memory maps of the file: ~2x faster per row (a page fault per
        # row and the unmapping cost more than a system call).
        rows = np.empty((len(uniq), self.dim), dtype=np.float32)
        out = memoryview(rows).cast('B')
        rb = self.row_bytes
        breaks = np.flatnonzero(np.diff(uniq) != 1) + 1
        starts = np.concatenate([[0], breaks]).tolist()
        ends = np.concatenate([breaks, [len(uniq)]]).tolist()
        first = uniq[starts].tolist()
        fd = os.open(self.path, os.O_RDONLY)
        try:
            for a, b, row in zip(starts, ends, first):
                size = (b - a) * rb
                if os.preadv(fd, [out[a * rb:b * rb]], row * rb) != size:
                    raise OSError(f'{self.path}: short read at row {row} (file truncated?)')
        finally:
            os.close(fd)
        return rows

    def unique_rows(self, ids: np.ndarray):
        """``(rows (U, dim), inverse)`` with ``rows[inverse] == take(ids)`` for ids >= 0: each
        distinct row read once (re-ranking reads many candidates shared by queries); ``rows`` is
        a new array the caller may modify."""
        ids = np.asarray(ids, dtype=np.int64)
        safe = np.where(ids >= 0, ids, 0)
        uniq, inverse = np.unique(safe, return_inverse=True)
        rows = self._cache[uniq] if self._cache is not None else self._read_sorted(uniq)
        return rows, inverse.reshape(ids.shape)


@dataclass
class CosineIndex:
    """A faiss index over centred, normalised rows plus what an exact re-rank needs.

    ``search(queries, k)`` returns ``(ids, cos)`` of shape ``(Q, k)``, sorted by decreasing cosine;
    missing neighbours (fewer than ``k`` rows) are ``-1`` with cosine ``-inf``.
    """
    index: object
    rows: RawRows
    mean: np.ndarray
    exact: bool
    candidates: int = 64

    def search(self, queries: np.ndarray, k: int):
        q = normalize_rows(queries, self.mean)
        if self.exact:
            scores, ids = self.index.search(q, k)
            scores = np.where(ids >= 0, scores, -np.inf).astype(np.float32)
            return ids, scores
        kc = max(k, self.candidates)
        _, cand = self.index.search(q, kc)
        return self.rerank(q, cand, k)

    def rerank(self, q: np.ndarray, cand: np.ndarray, k: int):
        """Exact cosines of the candidate rows ``cand`` ``(Q, C)`` (``-1``: none) for the
        normalised queries ``q`` ``(Q, D)``; the best ``k`` of each, sorted by decreasing cosine
        (returned ties in candidate order): ``(ids (Q, k), cos (Q, k))``; with ``k >= C`` every
        candidate, then ``-1`` / ``-inf``.

        A block of queries at a time (all candidate rows of thousands of queries would be GBs):
        each distinct row is read once per block, centred and its norm taken; the products of
        every query with its own candidates are taken in C by faiss
        (``fvec_inner_products_by_idx``: no gathered copy of the rows per query).
        """
        import faiss
        qn, kc = cand.shape
        kk = min(k, kc)
        ids = np.full((qn, k), -1, np.int64)
        cos = np.full((qn, k), -np.inf, np.float32)
        q = np.ascontiguousarray(q, dtype=np.float32)
        block = max(1, (64 << 20) // (4 * kc * self.rows.dim))
        for s in range(0, qn, block):
            c = cand[s:s + block]
            rows, inverse = self.rows.unique_rows(c)    # a fresh array: centred in place
            rows -= self.mean
            inv_norm = 1.0 / np.maximum(np.sqrt(np.einsum('ij,ij->i', rows, rows)), 1e-12)
            inverse = np.ascontiguousarray(inverse, dtype=np.int64)   # -1 read as row 0
            sc = np.empty(c.shape, np.float32)
            faiss.fvec_inner_products_by_idx(
                faiss.swig_ptr(sc), faiss.swig_ptr(q[s:s + len(c)]), faiss.swig_ptr(rows),
                faiss.swig_ptr(inverse), self.rows.dim, len(c), kc)
            sc *= inv_norm[inverse]
            sc[c < 0] = -np.inf
            # the best kk = min(k, kc) (k >= kc: all candidates, the rest of the k padded with
            # -1 / -inf), by decreasing cosine, ties in candidate order
            top = np.sort(np.argpartition(-sc, kk - 1, axis=1)[:, :kk], axis=1)
            top_sc = np.take_along_axis(sc, top, 1)
            order = np.take_along_axis(top, np.argsort(-top_sc, axis=1, kind='stable'), 1)
            ids[s:s + len(c), :kk] = np.take_along_axis(c, order, 1)
            cos[s:s + len(c), :kk] = np.take_along_axis(sc, order, 1)
        ids[~np.isfinite(cos)] = -1
        return ids, cos

    def set_nprobe(self, nprobe: int) -> None:
        import faiss
        if not self.exact:
            ivf = faiss.extract_index_ivf(self.index)
            ivf.nprobe = int(nprobe)
            quantizer = faiss.downcast_index(ivf.quantizer)
            if isinstance(quantizer, faiss.IndexHNSW):
                # an HNSW coarse quantiser (``IVF{nlist}_HNSW32``) returns at most efSearch lists
                quantizer.hnsw.efSearch = max(int(quantizer.hnsw.efSearch), 2 * int(nprobe))


def _nlist(n: int) -> int:
    # ~4 sqrt(n) lists (faiss guideline), a power of two <= 4096 (the training sample stays a
    # few hundred MB), with >= 39 training rows per list.
    target = min(4096, 2 ** int(round(math.log2(max(16.0, 4 * math.sqrt(n))))))
    while target > 16 and n < 39 * target:
        target //= 2
    return target


def _pq_m(d: int) -> int:
    # Largest divisor of d that is <= 32 (<= 32 bytes a row) and leaves >= 4 dims per sub-vector.
    for m in range(min(32, max(1, d // 4)), 0, -1):
        if d % m == 0:
            return m
    return 1


def build_cosine_index(rows: RawRows, mean: np.ndarray, *, exact_max_bytes: int = 256 << 20,
                       factory: str | None = None, train_rows: int | None = None,
                       nprobe: int = 32, sq_quantile: float | None = None,
                       candidates: int = 64, chunk_rows: int = 16384, seed: int = 0,
                       progress=None) -> CosineIndex:
    """Build the index of ``rows`` (cosine after centring on ``mean``).

    Exact (``IndexFlatIP`` on the normalised rows) when they take at most ``exact_max_bytes``;
    otherwise ``factory`` (default ``PCAR{p},IVF{nlist},PQ{m}``, ``p = min(D, 128)``; a given
    factory may hold the placeholders ``{nlist}`` and ``{pca}`` for these two) trained on
    ``train_rows`` random rows (default ``max(65536, 32 nlist)``) and filled ``chunk_rows`` at a
    time, so peak RAM is the codes plus the training sample or one chunk. ``progress(done_rows)``
    is called after each chunk. ``sq_quantile``: a scalar quantiser's (``SQ8``...) range per
    dimension spans the ``[q, 1 - q]`` quantiles of the training residuals instead of their
    min / max (faiss ``RS_quantiles``): a few outliers otherwise stretch the 256 steps.
    """
    import faiss
    n, d = len(rows), rows.dim
    if n == 0:
        raise ValueError(f'{rows.path}: empty bank, nothing to index')
    exact = factory is None and n * d * 4 <= exact_max_bytes
    if exact:
        index = faiss.IndexFlatIP(d)
    else:
        nlist, p = _nlist(n), min(d, 128)
        if factory is None:
            factory = f'PCAR{p},IVF{nlist},PQ{_pq_m(p)}'
        else:   # placeholders sized for this bank: {nlist} lists, {pca} = min(D, 128) dims
            factory = factory.format(nlist=nlist, pca=p)
        # L2 on the unit rows, not inner product: on unit vectors both rank alike, but only L2
        # survives the PCA pre-transform. faiss's PCA subtracts the training mean m, which
        # shifts every inner product by a per-row m.x; and the dropped components d = x - Px
        # leave the inner product off by q_d.x_d, as large as |x_d|^2 for a near neighbour,
        # while the L2 distance is off by |q_d - x_d|^2, near 0 for it.
        index = faiss.index_factory(d, factory, faiss.METRIC_L2)
        ivf = faiss.downcast_index(faiss.extract_index_ivf(index))
        ivf.cp.niter = 10   # enough for a coarse quantiser; the re-rank restores exactness
        if hasattr(ivf, 'pq'):
            ivf.pq.cp.niter = 10
        if sq_quantile is not None:
            if not hasattr(ivf, 'sq'):
                raise ValueError(f'sq_quantile needs a scalar-quantiser index, not {factory}')
            ivf.sq.rangestat = faiss.ScalarQuantizer.RS_quantiles
            ivf.sq.rangestat_arg = float(sq_quantile)
        if train_rows is None:
            train_rows = max(65536, 32 * ivf.nlist)
        # Centred and normalised in place: one copy of the sample in RAM, not three.
        sample = rows.sample(min(n, train_rows), seed)
        sample -= np.asarray(mean, np.float32)
        sample /= np.maximum(np.linalg.norm(sample, axis=1, keepdims=True), 1e-12)
        index.train(sample)
        del sample
    if exact:
        for start, chunk in rows.chunks(chunk_rows):
            index.add(normalize_rows(chunk, mean))
            if progress is not None:
                progress(start + len(chunk))
    else:
        _add_preallocated(index, rows, mean, chunk_rows, progress)
    out = CosineIndex(index=index, rows=rows, mean=np.asarray(mean, np.float32), exact=exact,
                      candidates=candidates)
    out.set_nprobe(nprobe)
    return out


def _add_preallocated(index, rows: RawRows, mean: np.ndarray, chunk_rows: int, progress) -> None:
    """Fill a trained IVF index (optionally behind a ``PCAR`` pre-transform) with ``rows``, each
    inverted list allocated once at its final size.

    ``index.add`` appends to every list's buffers, which grow by doubling: at 10M rows the
    capacity left over and the freed smaller buffers took RAM 1.7x the codes (2.34 GB for
    1.36 GB of codes and ids). Here a first pass assigns every row to its list (4 bytes a row
    kept), each list is sized to its count (then emptied, keeping its capacity), and a second
    pass encodes the rows into their lists (``add_core`` with the stored assignment), so the
    lists take their codes' size and the coarse assignment is computed once.
    """
    import faiss
    ivf = faiss.extract_index_ivf(index)
    chain = ([index.chain.at(i) for i in range(index.chain.size())]
             if isinstance(index, faiss.IndexPreTransform) else [])

    def transformed(chunk):
        x = normalize_rows(chunk, mean)
        for vt in chain:
            x = vt.apply(x)
        return np.ascontiguousarray(x, dtype=np.float32)

    assign = np.empty(len(rows), np.int32)
    for start, chunk in rows.chunks(chunk_rows):
        _, a = ivf.quantizer.search(transformed(chunk), 1)
        assign[start:start + len(chunk)] = a[:, 0]
    counts = np.bincount(assign, minlength=ivf.nlist)
    lists = faiss.downcast_InvertedLists(ivf.invlists)
    if isinstance(lists, faiss.ArrayInvertedLists):
        for lst in np.flatnonzero(counts):
            lists.resize(int(lst), int(counts[lst]))   # one allocation of the final size ...
            lists.resize(int(lst), 0)                  # ... kept as capacity while emptied
    for start, chunk in rows.chunks(chunk_rows):
        x = transformed(chunk)
        a = assign[start:start + len(chunk)].astype(np.int64)
        ivf.add_core(len(x), faiss.swig_ptr(x), None, faiss.swig_ptr(a))
        if progress is not None:
            progress(start + len(chunk))
    index.ntotal = ivf.ntotal


def load_cosine_index(index_path: str, rows: RawRows, mean: np.ndarray, *, nprobe: int = 32,
                      candidates: int = 64) -> CosineIndex:
    """Read an index written with ``faiss.write_index`` (flat indexes are exact)."""
    import faiss
    index = faiss.read_index(index_path)
    exact = isinstance(index, faiss.IndexFlat)
    out = CosineIndex(index=index, rows=rows, mean=np.asarray(mean, np.float32), exact=exact,
                      candidates=candidates)
    out.set_nprobe(nprobe)
    return out
