"""Relevance feedback of PersonArt (thesis Eq. A.22-A.23): reference functions and a fast session.

After feedback neither the query nor the warped items are unit vectors, and a plain dot product
would then penalise items that move towards the query (``f'.q`` drops when ``|q| < cos``). The
session therefore scores by ``s_i = 1 - |f_a(I) - f_r(q)|^2 / 2`` (:func:`distance_similarity`),
which equals Eq. A.18's cosine for unit vectors (before any feedback) and grows whenever Eq. A.23
moves an item towards the query, as in feature-space warping (Chang et al., ICIP 2009), which
ranks by distance.

The reference functions move explicit vectors; :class:`FeedbackState` keeps every warped gallery
item in closed form, ``f_I = a_I x_I + B_I Q`` (``x_I`` the original embedding, ``Q`` the queries
of the session so far), so one feedback iteration over N items costs one (N, D) x (D, 3) product
and O(N T) updates instead of rewriting the (N, D) gallery.
"""
from typing import Optional

import numpy as np

from . import kernels

ALPHA, BETA, GAMMA, ETA, C = 0.8, 0.1, 0.1, 0.5, 0.8  # App. A.2.2 "Relevance feedback"


def query_point_movement(q, f_p, f_n, alpha=ALPHA, beta=BETA, gamma=GAMMA):
    """``f_r(q) <- alpha f_r(q) + beta f_a(p) - gamma f_a(n)`` (Eq. A.22). (D,) vectors."""
    return alpha * q + beta * f_p - gamma * f_n


def distance_similarity(dot, norm2_f, norm2_q):
    """``1 - |f - q|^2 / 2`` from ``f.q``, ``|f|^2`` and ``|q|^2`` (= ``f.q`` for unit vectors)."""
    return 1.0 - (norm2_f + norm2_q - 2 * dot) / 2


def warp_weights(d_p, d_n, eta=ETA, c=C):
    """Per-item step of Eq. A.23: ``w = eta (e^{-c d_p} - e^{-c d_n})``; ``f <- f + w (q - f)``."""
    return eta * (np.exp(-c * d_p) - np.exp(-c * d_n))


def feature_space_warping(gallery, f_p, f_n, q, eta=ETA, c=C):
    """Eq. A.23 on an explicit gallery.

    ``f_a(I) <- f_a(I) + eta e^{-c|f_a(I)-f_a(p)|}(f_r(q)-f_a(I))
    - eta e^{-c|f_a(I)-f_a(n)|}(f_r(q)-f_a(I))``

    Args:
        gallery: (N, D) artistic embeddings; f_p, f_n: (D,) positive / negative; q: (D,) query
            (already moved by Eq. A.22).
    Returns:
        (N, D) warped gallery.
    """
    d_p = np.linalg.norm(gallery - f_p, axis=1)
    d_n = np.linalg.norm(gallery - f_n, axis=1)
    w = warp_weights(d_p, d_n, eta, c)
    return gallery + w[:, None] * (q[None, :] - gallery)


class FeedbackState:
    """A user's feedback session over a gallery of unit vectors (closed-form warping).

    Args:
        x: (N, D) float32 original artistic embeddings (kept, never copied or written).
        query: (D,) the user's real-branch embedding f_r(q).
        norm2: (N,) ``|x_I|^2`` when the caller has it (a gallery computes it once for all its
            sessions); computed here otherwise.
        fast: use the one-pass compiled kernels (``kernels.py``; default: when numba is there);
            False runs the NumPy reference steps (same maths).
    Attributes:
        query: the current (moved) query; iterations: feedback steps applied.
    """

    def __init__(self, x: np.ndarray, query: np.ndarray, alpha=ALPHA, beta=BETA, gamma=GAMMA,
                 eta=ETA, c=C, norm2: Optional[np.ndarray] = None, fast: Optional[bool] = None):
        self.fast = kernels.available() if fast is None else bool(fast)
        if self.fast:
            x = np.ascontiguousarray(x, dtype=np.float32)
        self.x = x
        self.query = np.asarray(query, dtype=np.float32)
        self.alpha, self.beta, self.gamma, self.eta, self.c = alpha, beta, gamma, eta, c
        n = x.shape[0]
        self.a = np.ones(n, dtype=np.float32)       # f_I = a_I x_I + B_I Q
        self._B = np.zeros((n, 8), dtype=np.float32)  # capacity grows by doubling
        self.Q = np.zeros((0, x.shape[1]), dtype=np.float32)
        if norm2 is None:
            norm2 = np.einsum('nd,nd->n', x, x)
        self.norm2 = np.array(norm2, dtype=np.float32)  # |f_I|^2 (own copy: updated in place)
        self._sims: Optional[np.ndarray] = None     # s_i of every item, cached after each step
        self._fq: Optional[np.ndarray] = None       # f_I . query (kernel path, after a step)
        self.iterations = 0

    @property
    def B(self) -> np.ndarray:
        """(N, T) weights of the past queries in every item."""
        return self._B[:, :self.iterations]

    def item(self, i: int) -> np.ndarray:
        """Current (warped) embedding of gallery item ``i``: (D,)."""
        return self.a[i] * self.x[i] + self.B[i] @ self.Q

    def dots(self, vectors: np.ndarray) -> np.ndarray:
        """``f_I . v`` for every item and each row v of (K, D) vectors -> (N, K)."""
        vectors = np.asarray(vectors, dtype=np.float32)
        out = self.x @ vectors.T
        out *= self.a[:, None]
        if self.Q.shape[0]:
            out += self.B @ (self.Q @ vectors.T)
        return out

    def similarities(self) -> np.ndarray:
        """Current ``s_i = 1 - |f_a(I) - f_r(q)|^2 / 2`` for every item: (N,) read-only view,
        overwritten by the next :meth:`step`."""
        if self._sims is None:
            qq = float(self.query @ self.query)
            if self.fast and self.iterations == 0:
                d = kernels.dots(self.x, self.query[None], np.empty((len(self.x), 1), np.float32))
                d = d[:, 0]
            else:
                d = self.dots(self.query[None])[:, 0]
            self._sims = distance_similarity(d, self.norm2, qq).astype(np.float32, copy=False)
        out = self._sims.view()
        out.flags.writeable = False
        return out

    def step(self, positive: int, negative: int) -> np.ndarray:
        """One feedback iteration: Eq. A.22 then Eq. A.23 over the whole gallery.

        Returns the new similarities (N,), see :meth:`similarities`.
        """
        f_p, f_n = self.item(positive), self.item(negative)
        q = query_point_movement(self.query, f_p, f_n, self.alpha, self.beta, self.gamma)
        q = q.astype(np.float32)
        np_p, np_n, qq = float(f_p @ f_p), float(f_n @ f_n), float(q @ q)
        t = self.iterations
        if t == self._B.shape[1]:
            self._B = np.concatenate([self._B, np.zeros_like(self._B)], axis=1)
        if self.fast:
            v = np.ascontiguousarray(np.stack([f_p, f_n, q]), dtype=np.float32)
            qv = np.ascontiguousarray(self.Q @ v.T, dtype=np.float32)          # (T, 3)
            if self._sims is None:
                self._sims = np.empty(len(self.x), np.float32)
            use_fq = self._fq is not None  # f_I . q_old known: 2 products per item, not 3
            if not use_fq:
                self._fq = np.empty(len(self.x), np.float32)
            kernels.warp_step(self.x, self.a, self._B, t, qv, self.norm2, self._fq, use_fq,
                              self._sims, v, np_p, np_n, qq, positive, negative, self.alpha,
                              self.beta, self.gamma, self.eta, self.c)
        else:
            d = self.dots(np.stack([f_p, f_n, q]))               # (N, 3)
            d_p = np.sqrt(np.maximum(self.norm2 + np_p - 2 * d[:, 0], 0))
            d_n = np.sqrt(np.maximum(self.norm2 + np_n - 2 * d[:, 1], 0))
            # |f - f_p|^2 by expansion cancels to rounding noise near 0, which the square root
            # magnifies (~sqrt(eps)): the fed-back items themselves get their exact 0
            d_p[positive] = 0.0
            d_n[negative] = 0.0
            w = warp_weights(d_p, d_n, self.eta, self.c).astype(np.float32)
            keep = 1 - w
            fq = d[:, 2]
            # |f'|^2 with f' = (1 - w) f + w q
            self.norm2 = (keep * keep * self.norm2 + 2 * w * keep * fq + w * w * qq).astype(
                np.float32)
            self.a *= keep
            self._B[:, :t] *= keep[:, None]
            self._B[:, t] = w
            dots = keep * fq + w * qq                              # f' . q
            self._sims = distance_similarity(dots, self.norm2, qq).astype(np.float32)
        self.Q = np.concatenate([self.Q, q[None]], axis=0)
        self.query = q
        self.iterations += 1
        return self.similarities()

    def embeddings(self) -> np.ndarray:
        """All current (warped) embeddings, (N, D) (for inspection and tests)."""
        return self.a[:, None] * self.x + self.B @ self.Q
