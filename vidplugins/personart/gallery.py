"""The painted-face gallery: faiss index, Eq. A.21 ranking, attribute constraints, feedback.

Embeddings ``f_a`` of the gallery are unit vectors (Eq. A.16); the first search of a query goes
through the shared faiss cosine index (``vidplugins.utils.knn``: exact ``IndexFlatIP`` for small
galleries, compressed IVF-PQ with exact re-rank for large ones) and is re-ranked with the full
score of Eq. A.21; feedback iterations (Eq. A.22-A.23) move every gallery item, so they rank by a
full scan of the closed-form warped gallery (``feedback.FeedbackState``).

With numba (``kernels.py``) both the first query and the feedback queries are one fused pass over
the gallery (similarity, packed-attribute Hamming, Eq. A.21, constraints and the top k), which is
exact and faster than faiss's search plus the re-rank; ``search(use_index=True)`` still goes
through the faiss index (the path for compressed indexes).
"""
import json
import os
import os.path as osp
import tempfile
import threading
import uuid
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..utils.knn import RawRows, build_cosine_index
from . import kernels
from .feedback import ALPHA, BETA, C, ETA, GAMMA, FeedbackState
from .similarity import attribute_mask

CELEBA_ATTRIBUTES = (
    '5_o_Clock_Shadow', 'Arched_Eyebrows', 'Attractive', 'Bags_Under_Eyes', 'Bald', 'Bangs',
    'Big_Lips', 'Big_Nose', 'Black_Hair', 'Blond_Hair', 'Blurry', 'Brown_Hair', 'Bushy_Eyebrows',
    'Chubby', 'Double_Chin', 'Eyeglasses', 'Goatee', 'Gray_Hair', 'Heavy_Makeup',
    'High_Cheekbones', 'Male', 'Mouth_Slightly_Open', 'Mustache', 'Narrow_Eyes', 'No_Beard',
    'Oval_Face', 'Pale_Skin', 'Pointy_Nose', 'Receding_Hairline', 'Rosy_Cheeks', 'Sideburns',
    'Smiling', 'Straight_Hair', 'Wavy_Hair', 'Wearing_Earrings', 'Wearing_Hat',
    'Wearing_Lipstick', 'Wearing_Necklace', 'Wearing_Necktie', 'Young')


def hamming_similarity_to(bits: np.ndarray, query_bits: np.ndarray) -> np.ndarray:
    """Eq. A.20 of one query against every item: (N, n) bools, (n,) bools -> (N,) float32."""
    n = bits.shape[1]
    return 1.0 - (bits != np.asarray(query_bits, bool)[None]).sum(1).astype(np.float32) / n


_POPCOUNT16 = np.array([bin(i).count('1') for i in range(1 << 16)], dtype=np.uint8)


def pack_bits(bits: np.ndarray) -> np.ndarray:
    """(N, n) bools, n <= 64 -> (N,) uint64 codes (bit k = attribute k)."""
    bits = np.asarray(bits, dtype=bool)
    if bits.shape[1] > 64:
        raise ValueError(f'at most 64 attributes can be packed, got {bits.shape[1]}')
    weights = np.left_shift(np.uint64(1), np.arange(bits.shape[1], dtype=np.uint64))
    return (bits.astype(np.uint64) * weights).sum(1, dtype=np.uint64)


def packed_hamming_similarity(codes: np.ndarray, query_code, n: int) -> np.ndarray:
    """Eq. A.20 on packed codes: popcount of the XOR through a 16-bit table. (N,) -> (N,)."""
    x = np.bitwise_xor(codes, np.uint64(query_code)).view(np.uint16).reshape(-1, 4)
    dist = _POPCOUNT16[x].sum(1, dtype=np.int32)
    return 1.0 - dist.astype(np.float32) / n


class FaceGallery:
    """Artistic faces with their embeddings, binarised attributes and metadata.

    Args:
        embeddings: (N, D) unit-norm ``f_a`` of the gallery faces.
        attributes: (N, n) binarised predicted attributes (or None: lambda is then ignored).
        meta: one dict per face (e.g. ``path``, ``box``, ``identity``).
        work_dir: where the raw rows for the faiss index are written (a temp dir by default).
        exact_max_bytes: galleries up to this size get an exact index, larger ones a compressed.
    """

    def __init__(self, embeddings: np.ndarray, attributes: Optional[np.ndarray] = None,
                 meta: Optional[List[dict]] = None, attribute_names: Sequence[str] = (),
                 work_dir: Optional[str] = None, exact_max_bytes: int = 256 << 20,
                 factory: Optional[str] = None):
        x = np.ascontiguousarray(embeddings, dtype=np.float32)
        if x.ndim != 2 or len(x) == 0:
            raise ValueError(f'gallery embeddings must be a non-empty (N, D) array, got {x.shape}')
        self.x = x
        self.attributes = attributes
        if self.attributes is not None and len(self.attributes) != len(x):
            raise ValueError(f'{len(self.attributes)} attribute rows for {len(x)} embeddings')
        self.meta = meta if meta is not None else [{} for _ in range(len(x))]
        names = list(attribute_names)
        if not names and self.attributes is not None:
            n = self.attributes.shape[1]
            names = list(CELEBA_ATTRIBUTES) if n == 40 else [f'attr{i}' for i in range(n)]
        self.attribute_names = names
        self._tmp = None
        if work_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix='personart_gallery_')
            work_dir = self._tmp.name
        os.makedirs(work_dir, exist_ok=True)
        raw = osp.join(work_dir, 'gallery_rows.f32')
        x.astype('<f4').tofile(raw + '.tmp')
        os.replace(raw + '.tmp', raw)
        self.index = build_cosine_index(RawRows(raw, x.shape[1]), np.zeros(x.shape[1], np.float32),
                                        exact_max_bytes=exact_max_bytes, factory=factory)
        self.sessions: Dict[str, 'GallerySession'] = {}
        self._norm2: Optional[np.ndarray] = None

    @property
    def norm2(self) -> np.ndarray:
        """(N,) ``|f_a|^2`` of the gallery items (computed once, shared by the sessions)."""
        if self._norm2 is None:
            self._norm2 = np.einsum('nd,nd->n', self.x, self.x).astype(np.float32)
        return self._norm2

    def __len__(self) -> int:
        return len(self.x)

    @property
    def exact(self) -> bool:
        return self.index.exact

    @property
    def attributes(self) -> Optional[np.ndarray]:
        """(N, n) binarised attributes (None: no attribute scoring)."""
        return self._attributes

    @attributes.setter
    def attributes(self, bits) -> None:
        self._attributes = None if bits is None else np.asarray(bits, dtype=bool)
        self._codes = None
        if self._attributes is not None and self._attributes.shape[1] <= 64:
            self._codes = pack_bits(self._attributes)

    def query_code(self, query_bits) -> int:
        """The query's attributes packed like the gallery's (bit k = attribute k)."""
        return int(pack_bits(np.asarray(query_bits, bool).reshape(1, -1))[0])

    def constraint_code(self, constraints: Optional[dict]) -> Tuple[int, int]:
        """Attribute constraints as (mask, value) on packed codes: kept iff code & mask == value."""
        mask = value = 0
        for key, want in (constraints or {}).items():
            if isinstance(key, str):
                if key not in self.attribute_names:
                    raise KeyError(f'unknown attribute {key!r}; known: {self.attribute_names}')
                key = self.attribute_names.index(key)
            bit = 1 << int(key)
            if mask & bit and bool(value & bit) != bool(want):
                return -1, -1  # contradictory: nothing passes
            mask |= bit
            value = value | bit if want else value & ~bit
        return mask, value

    def _fast_rank(self, sims, query_bits, lam, constraints, k):
        """Top-k of Eq. A.21 with the one-pass kernel, or None when it cannot serve the query."""
        if not kernels.available():
            return None
        if self.attributes is None:
            if constraints:
                raise ValueError('attribute constraints need gallery attributes')
            return kernels.rank(sims, k)
        if self._codes is None:
            return None  # over 64 attributes: NumPy path
        cmask, cval = self.constraint_code(constraints)
        if cmask < 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        use_attr = query_bits is not None and lam
        qcode = self.query_code(query_bits) if use_attr else 0
        ids, s = kernels.rank(sims, k, self._codes, qcode, self._attributes.shape[1],
                              float(lam) if use_attr else 0.0, cmask, cval)
        keep = np.isfinite(s)
        return ids[keep], s[keep]

    def attribute_similarity(self, query_bits, ids: Optional[np.ndarray] = None) -> np.ndarray:
        """Eq. A.20 of the query against items ``ids`` (all by default): (N,) float32."""
        n = self._attributes.shape[1]
        if self._codes is not None:
            codes = self._codes if ids is None else self._codes[ids]
            q = pack_bits(np.asarray(query_bits, bool)[None])[0]
            return packed_hamming_similarity(codes, q, n)
        bits = self._attributes if ids is None else self._attributes[ids]
        return hamming_similarity_to(bits, query_bits)

    def scores(self, s_i: np.ndarray, query_bits=None, lam: float = 0.2,
               constraints: Optional[dict] = None, ids: Optional[np.ndarray] = None):
        """Eq. A.21 for items ``ids`` (all by default) given their s_i; -inf where filtered."""
        s = (1.0 + s_i) / 2
        if self.attributes is not None and query_bits is not None and lam:
            s += lam * self.attribute_similarity(query_bits, ids)
        if constraints:
            if self.attributes is None:
                raise ValueError('attribute constraints need gallery attributes')
            bits = self.attributes if ids is None else self.attributes[ids]
            ok = attribute_mask(bits, constraints, self.attribute_names)
            s = np.where(ok, s, -np.inf)
        return s.astype(np.float32, copy=False)

    def search(self, query: np.ndarray, query_bits=None, k: int = 10, lam: float = 0.2,
               constraints: Optional[dict] = None, use_index: Optional[bool] = None):
        """Top-k by Eq. A.21 with attribute constraints: (ids (k',), scores (k',)), k' <= k.

        By default (numba present) one fused pass over the gallery: s_i = f_a . f_r (Eq. A.18)
        and the rest of Eq. A.21, exact. With ``use_index`` (or without numba) candidates come
        from the faiss index by s_i; the candidate set grows until no item left out could still
        enter the top k (its s_i part is below the k-th score minus lambda), so with an exact
        index the result equals a full scan.
        """
        q = np.asarray(query, dtype=np.float32).reshape(1, -1)
        n = len(self.x)
        k = min(k, n)
        if not use_index and kernels.available():
            buf = self._dot_buffer()
            kernels.dots(self.x, q, buf)
            out = self._fast_rank(buf[:, 0], query_bits, lam, constraints, k)
            if out is not None:
                return out
        kc = min(n, max(4 * k, 64))
        bonus = lam if (self.attributes is not None and query_bits is not None) else 0.0
        while True:
            ids, cos = self.index.search(q, kc)
            ids, cos = ids[0], cos[0]
            valid = ids >= 0
            ids, cos = ids[valid], cos[valid]
            s = self.scores(cos, query_bits, lam, constraints, ids)
            order = np.lexsort((ids, -s))  # ties by id, as a full scan's stable sort
            order = order[np.isfinite(s[order])][:k]
            if kc >= n:
                break
            bound = (1.0 + cos.min()) / 2 + bonus   # best score an item outside could have
            if len(order) == k and s[order[-1]] >= bound:
                break
            kc = min(n, kc * 4)
        return ids[order], s[order]

    def _dot_buffer(self) -> np.ndarray:
        # one (N, 1) output per thread that searches (the app serves requests from a pool)
        local = self.__dict__.setdefault('_local', threading.local())
        buf = getattr(local, 'dots', None)
        if buf is None or len(buf) != len(self.x):
            buf = local.dots = np.empty((len(self.x), 1), np.float32)
        return buf

    # ---- per-user feedback sessions (Eq. A.22-A.23) ----
    def open_session(self, query: np.ndarray, query_bits=None, **params) -> 'GallerySession':
        sid = uuid.uuid4().hex
        session = GallerySession(self, query, query_bits, sid, **params)
        self.sessions[sid] = session
        return session

    def close_session(self, sid: str) -> None:
        self.sessions.pop(sid, None)

    # ---- persistence ----
    def save(self, path: str) -> None:
        """Write embeddings, attributes and metadata to one ``.npz`` (atomic)."""
        tmp = path + '.tmp.npz'
        np.savez(tmp, embeddings=self.x,
                 attributes=self.attributes if self.attributes is not None else np.zeros((0, 0)),
                 meta=np.array(json.dumps(self.meta)),
                 attribute_names=np.array(json.dumps(self.attribute_names)))
        os.replace(tmp, path)
        os.chmod(path, 0o644)

    @classmethod
    def load(cls, path: str, **kwargs) -> 'FaceGallery':
        if not osp.isfile(path):
            raise FileNotFoundError(f'gallery file not found: {path}')
        with np.load(path, allow_pickle=False) as z:
            for key in ('embeddings', 'attributes', 'meta'):
                if key not in z:
                    raise KeyError(f'{path}: missing array {key!r}')
            attrs = z['attributes'] if z['attributes'].size else None
            return cls(z['embeddings'], attrs, json.loads(str(z['meta'])),
                       json.loads(str(z['attribute_names'])), **kwargs)


class GallerySession:
    """One user's query with its feedback history; ranking by Eq. A.21 over the warped gallery."""

    def __init__(self, gallery: FaceGallery, query, query_bits, sid: str, alpha=ALPHA, beta=BETA,
                 gamma=GAMMA, eta=ETA, c=C):
        self.gallery, self.id = gallery, sid
        self.query_bits = query_bits
        self.state = FeedbackState(gallery.x, query, alpha, beta, gamma, eta, c,
                                   norm2=gallery.norm2)
        self.history: List[tuple] = []

    def feedback(self, positive: int, negative: int) -> None:
        n = len(self.gallery)
        for name, i in (('positive', positive), ('negative', negative)):
            if not 0 <= int(i) < n:
                raise IndexError(f'{name} item {i} is not in the gallery (0..{n - 1})')
        self.state.step(int(positive), int(negative))
        self.history.append((int(positive), int(negative)))

    def rank(self, k: int = 10, lam: float = 0.2, constraints: Optional[dict] = None):
        """Top-k (ids, scores) of the full warped gallery."""
        out = self.gallery._fast_rank(self.state.similarities(), self.query_bits, lam,
                                      constraints, min(k, len(self.gallery)))
        if out is not None:
            return out
        s = self.gallery.scores(self.state.similarities(), self.query_bits, lam, constraints)
        k = min(k, len(s))
        top = np.argpartition(-s, k - 1)[:k] if k < len(s) else np.arange(len(s))
        top = top[np.argsort(-s[top], kind='stable')]
        top = top[np.isfinite(s[top])]
        return top, s[top]
