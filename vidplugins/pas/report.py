"""``DIR/report.md`` and ``DIR/search_curve.png`` of a PAS search (in the style of thesis
Fig. 6.3: every hypothesis per iteration, the chosen path, and the "without PAS" line)."""
from __future__ import annotations

import os.path as osp
from typing import Dict

from ..utils.io import atomic_write

__all__ = ['report_markdown', 'plot_curve', 'write_report']

_MARKERS = dict(s='s', t='^', f='v', c='o', l='D')
#: one colour per operator in every iteration (matplotlib's cycle would recolour iteration 2)
_COLORS = dict(s='C0', t='C1', f='C2', c='C3', l='C4')


def _fmt(v, spec='.2f'):
    return '-' if v is None else format(v, spec)


def report_markdown(state: Dict) -> str:
    hyps = state['hypotheses']
    base = hyps.get('iter0_base', {})
    lines = ['# PAS search', '', f'Base network B: `{state["config"]}`', '',
             f'Chosen sequence: **[{", ".join(state["chosen_ops"])}]**', '',
             '| iteration | hypothesis | operator | status | top-1 | top-5 | GFLOPs/view | '
             'params | chosen (rule) | note |', '|---|---|---|---|---|---|---|---|---|---|',
             f'| 0 | iter0_base | B | {base.get("status", "-")} | {_fmt(base.get("top1"))} | '
             f'{_fmt(base.get("top5"))} | {_fmt(base.get("gflops"), ".4g")} | '
             f'{base.get("params") or "-"} | | |']
    for step in state['steps']:
        for name in step['members']:
            h = hyps[name]
            chosen = f'yes ({step["rule"]})' if name == step['chosen'] else ''
            note = h.get('reason') or '; '.join(h.get('errors', [])[-1:])
            lines.append(f'| {step["tau"]} | {name} | eps_{h["op"]} | {h["status"]} | '
                         f'{_fmt(h["top1"])} | {_fmt(h["top5"])} | {_fmt(h["gflops"], ".4g")} | '
                         f'{h["params"] or "-"} | {chosen} | {note} |')
    ce = [h for h in hyps.values() if h.get('kind') == 'without_pas']
    if ce:
        lines += ['', '## Without PAS (same architecture, CE from scratch; Table 6.2)', '',
                  '| architecture | with PAS top-1 | without PAS top-1 | GFLOPs/view |',
                  '|---|---|---|---|']
        for h in ce:
            pas = hyps[h['name'][:-len('_ce')]]
            lines.append(f'| {" -> ".join(h["ops"])} | {_fmt(pas["top1"])} | '
                         f'{_fmt(h["top1"])} | {_fmt(h["gflops"], ".4g")} |')
    failed = [h['name'] for h in hyps.values() if h['status'] == 'failed']
    skipped = [h['name'] for h in hyps.values() if h['status'] == 'skipped']
    lines += ['', f'Failed after retries: {len(failed)} {failed}',
              f'Skipped (operator not applicable): {len(skipped)} {skipped}', '']
    return '\n'.join(lines)


def plot_curve(state: Dict, path: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    hyps = state['hypotheses']
    fig, ax = plt.subplots(figsize=(6, 4))
    base = hyps.get('iter0_base')
    seen = set()
    for step in state['steps']:
        for name in step['members']:
            h = hyps[name]
            if h['status'] != 'done':
                continue
            label = f'eps_{h["op"]}' if h['op'] not in seen else None
            seen.add(h['op'])
            ax.scatter(step['tau'], h['top1'], marker=_MARKERS.get(h['op'], 'x'), label=label,
                       color=_COLORS.get(h['op'], 'C7'), zorder=3)
    path_x, path_y = [0], [base['top1'] if base and base.get('top1') is not None else None]
    for step in state['steps']:
        if step['chosen']:
            path_x.append(step['tau'])
            path_y.append(hyps[step['chosen']]['top1'])
    if path_y[0] is not None:
        ax.plot(path_x, path_y, 'r--', label='PAS (chosen)')
    ce = [(h['tau'], h['top1']) for h in hyps.values()
          if h.get('kind') == 'without_pas' and h['status'] == 'done']
    if ce:
        ce.sort()
        ax.plot([x for x, _ in ce], [y for _, y in ce], 'b--', marker='x', label='without PAS')
    ax.set_xlabel('iteration')
    ax.set_ylabel('top-1 accuracy (%)')
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    with atomic_write(path, 'wb') as f:
        fig.savefig(f, format='png', dpi=100)
    plt.close(fig)


def write_report(state: Dict, work_dir: str) -> None:
    with atomic_write(osp.join(work_dir, 'report.md')) as f:
        f.write(report_markdown(state))
    plot_curve(state, osp.join(work_dir, 'search_curve.png'))
