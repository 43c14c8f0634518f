/**
 * Layer health as small multiples: one table row per layer, one sparkline per measure (inline SVG,
 * no script), so 70 layers stay readable where one plot with 70 lines in 10 repeating colours is not.
 * Gradient norm and update/weight ratio use every within-epoch point (log scale: they span decades);
 * activation mean, standard deviation and dead ReLUs one point per epoch.
 */
import { formatNumber } from '../scale.js';
import type { EpochMetrics } from '../types.js';

const W = 104;
const H = 26;

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** An inline SVG line of the finite values (x in [0, 1]); log10 of positive values when `log`. */
export function sparkSvg(points: [number, number][], log: boolean, title: string): string {
  const pts = points.filter(([, y]) => Number.isFinite(y) && (!log || y > 0)).map(([x, y]) => [x, log ? Math.log10(y) : y] as [number, number]);
  if (pts.length === 0) return '<span class="muted">–</span>';
  let lo = Math.min(...pts.map((p) => p[1]));
  let hi = Math.max(...pts.map((p) => p[1]));
  if (hi === lo) {
    hi += 0.5;
    lo -= 0.5;
  }
  const x0 = Math.min(...pts.map((p) => p[0]));
  const x1 = Math.max(...pts.map((p) => p[0]));
  const X = (x: number): number => (x1 > x0 ? 2 + ((W - 4) * (x - x0)) / (x1 - x0) : W / 2);
  const Y = (y: number): number => H - 3 - ((H - 6) * (y - lo)) / (hi - lo);
  const poly = pts.map(([x, y]) => `${X(x).toFixed(1)},${Y(y).toFixed(1)}`).join(' ');
  const [lx, ly] = pts[pts.length - 1];
  return `<svg width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img"><title>${esc(title)}</title><polyline points="${poly}" fill="none" stroke="#2166ac" stroke-width="1.4"/><circle cx="${X(lx).toFixed(1)}" cy="${Y(ly).toFixed(1)}" r="2.5" fill="#d6604d"/></svg>`;
}

/** The table (empty when no epoch has health numbers). */
export function healthSparklines(metrics: readonly EpochMetrics[]): string {
  const sorted = [...metrics].filter((m) => m.health).sort((a, b) => a.epoch - b.epoch);
  const last = sorted[sorted.length - 1]?.health;
  if (!last) return '';
  const rows = last.layers.map((l) => {
    const key = String(l.layer);
    const trace = (k: 'gradNorm' | 'updateRatio'): [number, number][] => {
      const t = sorted.flatMap((m) => (m.health?.trace ?? []).filter((p) => p[k][key] !== undefined).map((p) => [p.x, p[k][key]] as [number, number]));
      // Runs without within-epoch points: one per epoch.
      return t.length > 0 ? t : sorted.flatMap((m) => { const v = m.health?.layers.find((x) => x.layer === l.layer)?.[k]; return v === undefined ? [] : [[m.epoch, v] as [number, number]]; });
    };
    const perEpoch = (k: 'mean' | 'std' | 'deadFraction'): [number, number][] =>
      sorted.flatMap((m) => { const v = m.health?.layers.find((x) => x.layer === l.layer)?.[k]; return v === undefined ? [] : [[m.epoch, v] as [number, number]]; });
    const cell = (pts: [number, number][], log: boolean, what: string, fmt: (v: number) => string): string => {
      if (pts.length === 0) return '<td></td><td></td>';
      const v = pts[pts.length - 1][1];
      return `<td class="sp">${sparkSvg(pts, log, `layer ${l.layer} ${what}`)}</td><td>${fmt(v)}</td>`;
    };
    const pct = (v: number): string => `${(100 * v).toFixed(1)}%`;
    const hasWeights = l.gradNorm !== undefined;
    return `<tr><th class="l"><a href="#layer-${l.layer}">${l.layer} ${esc(l.type)}</a></th>${
      hasWeights ? cell(trace('gradNorm'), true, 'gradient norm', formatNumber) + cell(trace('updateRatio'), true, 'update / weight', formatNumber) : '<td></td><td></td><td></td><td></td>'
    }${l.isLoss ? '<td></td><td></td><td></td><td></td>' : cell(perEpoch('mean'), false, 'activation mean', formatNumber) + cell(perEpoch('std'), false, 'activation std', formatNumber)}${cell(perEpoch('deadFraction'), false, 'dead ReLUs', pct)}</tr>`;
  });
  return `<div class="cbox health-box"><table class="health-sparks"><thead><tr><th class="l">layer</th><th colspan="2">gradient norm (log)</th><th colspan="2">update / weight (log)</th><th colspan="2">activation mean</th><th colspan="2">activation std</th><th colspan="2">dead ReLUs</th></tr></thead><tbody>${rows.join('')}</tbody></table></div>
<p class="muted">One row per layer; each line runs from the first epoch to the last (red dot: the latest value, printed beside it). Each line has its own vertical range, so read its shape and the printed value, not its height against another row.</p>`;
}
