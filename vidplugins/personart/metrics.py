"""PersonArt evaluation (thesis App. A.2.3): Recall@k (Table A.4), attribute accuracy (A.5),
weighted retrieval (A.6-A.7), AP after relevance-feedback iterations (A.8, Fig. A.13)."""
from typing import Dict, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.registry import METRICS

from .feedback import ALPHA, BETA, C, ETA, GAMMA, FeedbackState
from .similarity import attribute_similarity, combined_score


def recall_at_k(scores: np.ndarray, relevant: np.ndarray, ks: Sequence[int] = (1, 5, 10)):
    """Fraction of queries with a relevant item in the top k (in %).

    Args:
        scores: (Q, G) higher is better (-inf: excluded); relevant: (Q, G) bool.
    Queries without any relevant item are left out.
    """
    keep = relevant.any(1)
    scores, relevant = scores[keep], relevant[keep]
    order = np.argsort(-scores, axis=1, kind='stable')
    hits = np.take_along_axis(relevant, order, 1)
    return {f'R@{k}': float(100 * hits[:, :k].any(1).mean()) if len(hits) else float('nan')
            for k in ks}


def average_precision(scores: np.ndarray, relevant: np.ndarray) -> float:
    """AP of one ranking: mean over relevant items of the precision at their rank. (G,), (G,)."""
    order = np.argsort(-scores, kind='stable')
    rel = relevant[order].astype(np.float64)
    if rel.sum() == 0:
        return float('nan')
    prec = np.cumsum(rel) / np.arange(1, len(rel) + 1)
    return float((prec * rel).sum() / rel.sum())


def attribute_accuracy(prob: np.ndarray, labels: np.ndarray) -> float:
    """Accuracy (%) of thresholded predictions (N, n) against labels in {0, 1} (-1 ignored)."""
    known = labels >= 0
    if not known.any():
        return float('nan')
    return float(100 * ((prob > 0.5) == (labels > 0))[known].mean())


def weighted_retrieval(s_i, q_bits, g_bits, relevant, q_true=None, g_true=None,
                       lambdas=(0.0, 0.1, 0.2, 0.5, 1.0, 5.0, 10.0), valid=None) -> Dict:
    """R@1 and top-1 attribute accuracy for each lambda of Eq. A.21 (Tables A.6, A.7).

    The accuracy compares the query's attributes with the first retrieved item's (ground truth
    where known, else the binarised predictions).
    """
    s_a = attribute_similarity(q_bits, g_bits)
    q_ref = q_bits if q_true is None else np.where(q_true >= 0, q_true > 0, q_bits)
    g_ref = g_bits if g_true is None else np.where(g_true >= 0, g_true > 0, g_bits)
    out = {}
    for lam in lambdas:
        s = combined_score(s_i, s_a, lam)
        if valid is not None:
            s = np.where(valid, s, -np.inf)
        r1 = recall_at_k(s, relevant, (1,))['R@1']
        top = s.argmax(1)
        acc = float(100 * (q_ref == g_ref[top]).mean())
        out[f'lambda{lam:g}/R@1'] = r1
        out[f'lambda{lam:g}/attr_acc'] = acc
    return out


def feedback_average_precision(gallery: np.ndarray, queries: np.ndarray, relevant: np.ndarray,
                               q_bits=None, g_bits=None, lam: float = 0.2,
                               iterations: Sequence[int] = (1, 5, 10), seed: int = 0,
                               valid: Optional[np.ndarray] = None, alpha=ALPHA, beta=BETA,
                               gamma=GAMMA, eta=ETA, c=C) -> Dict[str, float]:
    """Mean AP before and after relevance-feedback iterations (Table A.8 protocol).

    Each iteration gives one positive (random item of the query's identity) and one negative
    (random item of another identity) to Eq. A.22-A.23; the AP is over the whole gallery.

    Args:
        gallery: (G, D) f_a; queries: (Q, D) f_r; relevant: (Q, G) bool; valid: (Q, G) bool
            items that may be retrieved (e.g. not the query's own stylised copy).
    """
    rng = np.random.default_rng(seed)
    last = max(iterations)
    aps = {0: [], **{t: [] for t in iterations}}
    s_a = None
    if q_bits is not None and g_bits is not None and lam:
        s_a = attribute_similarity(q_bits, g_bits)
    for qi in range(len(queries)):
        ok = np.ones(gallery.shape[0], bool) if valid is None else valid[qi]
        rel = relevant[qi] & ok
        pos, neg = np.flatnonzero(rel), np.flatnonzero(~relevant[qi] & ok)
        if len(pos) == 0 or len(neg) == 0:
            continue
        state = FeedbackState(gallery, queries[qi], alpha, beta, gamma, eta, c)
        extra = 0.0 if s_a is None else lam * s_a[qi]

        def ap():
            s = combined_score(state.similarities(), 0.0, 1.0) + extra
            return average_precision(np.where(ok, s, -np.inf), rel)

        aps[0].append(ap())
        for t in range(1, last + 1):
            state.step(int(rng.choice(pos)), int(rng.choice(neg)))
            if t in aps:
                aps[t].append(ap())
    return {f'AP@fb{t}': float(100 * np.mean(v)) if v else float('nan') for t, v in aps.items()}


@METRICS.register_module()
class PersonArtRetrievalMetric(BaseMetric):
    """Real items (domain 0) query the artistic items (domain 1); relevant = same identity.

    Items with the same ``source`` (a CelebA photo and its own stylised copy) are never retrieved
    for each other (App. A.2.3: "we remove the style-transferred version of the query").

    Args:
        lam: lambda of Eq. A.21. lambdas: for the weighted-retrieval table.
        feedback_iterations: AP is reported before and after these; max_feedback_queries bounds
            the cost (queries taken in order).
    """

    default_prefix = 'personart'

    def __init__(self, ks=(1, 5, 10), lam: float = 0.2,
                 lambdas=(0.0, 0.1, 0.2, 0.5, 1.0, 5.0, 10.0),
                 feedback_iterations=(1, 5, 10), max_feedback_queries: int = 1000, seed: int = 0,
                 collect_device: str = 'cpu', prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.ks, self.lam, self.lambdas = tuple(ks), lam, tuple(lambdas)
        self.feedback_iterations = tuple(feedback_iterations)
        self.max_feedback_queries, self.seed = max_feedback_queries, seed

    def process(self, data_batch, data_samples) -> None:
        for item in data_samples:
            self.results.append({k: np.asarray(v) for k, v in item.items()})

    def compute_metrics(self, results) -> Dict[str, float]:
        dom = np.array([int(r['domain']) for r in results])
        q = [r for r, d in zip(results, dom) if d == 0]
        g = [r for r, d in zip(results, dom) if d == 1]
        if not q or not g:
            raise ValueError(f'retrieval needs real and artistic items, got {len(q)} / {len(g)}')
        return evaluate_retrieval(q, g, self.ks, self.lam, self.lambdas,
                                  self.feedback_iterations, self.max_feedback_queries, self.seed)


def evaluate_retrieval(q, g, ks=(1, 5, 10), lam=0.2, lambdas=(0.0, 0.2), fb_iters=(1, 5, 10),
                       max_fb_queries=1000, seed=0) -> Dict[str, float]:
    """All PersonArt numbers from predicted items (dicts with embedding, identity, source,
    attr_prob, attributes) of the two domains."""
    fq = np.stack([r['embedding'] for r in q]).astype(np.float32)
    fg = np.stack([r['embedding'] for r in g]).astype(np.float32)
    idq = np.array([int(r['identity']) for r in q])
    idg = np.array([int(r['identity']) for r in g])
    srcq = np.array([int(r.get('source', -1 - i)) for i, r in enumerate(q)])
    srcg = np.array([int(r.get('source', -10 ** 9 - i)) for i, r in enumerate(g)])
    relevant = idq[:, None] == idg[None, :]
    valid = srcq[:, None] != srcg[None, :]
    s_i = fq @ fg.T
    out = recall_at_k(np.where(valid, s_i, -np.inf), relevant & valid, ks)
    has_attr = 'attr_prob' in q[0]
    q_bits = g_bits = None
    if has_attr:
        pq = np.stack([r['attr_prob'] for r in q])
        pg = np.stack([r['attr_prob'] for r in g])
        lq = np.stack([r['attributes'] for r in q])
        lg = np.stack([r['attributes'] for r in g])
        out['attr_acc_real'] = attribute_accuracy(pq, lq)
        out['attr_acc_art'] = attribute_accuracy(pg, lg)
        q_bits, g_bits = pq > 0.5, pg > 0.5
        out.update(weighted_retrieval(s_i, q_bits, g_bits, relevant & valid, lq, lg, lambdas,
                                      valid))
    if fb_iters:
        n = min(len(q), max_fb_queries)
        out.update(feedback_average_precision(
            fg, fq[:n], relevant[:n], None if q_bits is None else q_bits[:n], g_bits, lam,
            fb_iters, seed, valid[:n]))
    return out
