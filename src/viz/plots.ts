/**
 * Line plots (loss and accuracy per epoch) drawn as SVG shapes over a raw canvas, text via the same
 * text engine as the pictures, encoded to PNG by sharp.
 */
import { Canvas, encodeCanvasPng, lineHeight, textWidth, type TextEngine } from './canvas.js';
import { formatNumber } from './scale.js';
import type { EpochMetrics } from './types.js';

export interface PlotSeries {
  name: string;
  /** CSS colour. */
  color: string;
  points: [number, number][];
  dashed?: boolean;
  /** Leave out of the legend (e.g. a second line of the same layer). */
  noLegend?: boolean;
}

export interface LinePlotSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  series: PlotSeries[];
  /** Fixed y range; default [0 or min, max] with a little headroom. */
  yMin?: number;
  yMax?: number;
  /** Format of y tick labels. */
  yFormat?: (v: number) => string;
  /** Logarithmic y axis (values <= 0 are left out; ticks at powers of 10). */
  yLog?: boolean;
  /** Fixed x range (plots shown side by side share one); default: the points' range. */
  xMin?: number;
  xMax?: number;
  width?: number;
  height?: number;
}

/** "Nice" tick values covering [lo, hi] (about `count` of them): steps of 1, 2 or 5 x 10^k. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const start = Math.ceil(lo / step - 1e-9) * step;
  const out: number[] = [];
  for (let v = start; v <= hi + step * 1e-9; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : Number(v.toPrecision(12)));
  return out;
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** The x axis of a plot: the spec's fixed range where given, else the points' (widened by 1 each way when it is one value). */
export function plotXRange(spec: LinePlotSpec): [number, number] {
  const allX = spec.series.flatMap((s) => s.points.map((p) => p[0]));
  let xMin = spec.xMin ?? (allX.length ? Math.min(...allX) : 0);
  let xMax = spec.xMax ?? (allX.length ? Math.max(...allX) : 1);
  if (!(xMax > xMin)) {
    xMin -= 1;
    xMax += 1;
  }
  return [xMin, xMax];
}

export function composeLinePlot(spec: LinePlotSpec, engine: TextEngine): Canvas {
  const width = spec.width ?? 640;
  const height = spec.height ?? 400;
  const c = new Canvas(width, height);
  const log = spec.yLog === true;
  // On a log axis everything below works on log10(y); ticks are labelled with 10^t.
  const series = log
    ? spec.series.map((s) => ({ ...s, points: s.points.filter((p) => p[1] > 0).map((p) => [p[0], Math.log10(p[1])] as [number, number]) }))
    : spec.series;
  const allY = series.flatMap((s) => s.points.map((p) => p[1])).filter((v) => Number.isFinite(v));
  const [xMin, xMax] = plotXRange(spec);
  let yMin = log ? (allY.length ? Math.floor(Math.min(...allY)) : -3) : (spec.yMin ?? Math.min(0, ...allY));
  let yMax = log ? (allY.length ? Math.ceil(Math.max(...allY)) : 0) : (spec.yMax ?? (allY.length ? Math.max(...allY) * 1.08 : 1));
  if (!(yMax > yMin)) {
    yMin -= 1;
    yMax += 1;
  }
  const yFmt = log ? (t: number): string => formatNumber(10 ** t) : (spec.yFormat ?? formatNumber);
  const yTicks = log ? niceTicks(yMin, yMax, 6).filter((t) => Number.isInteger(t)) : niceTicks(yMin, yMax, 6);
  const xTicks = niceTicks(xMin, xMax, Math.min(8, Math.max(1, Math.round(xMax - xMin)))).filter((v) => Number.isInteger(v) || xMax - xMin < 4);
  const tickW = Math.max(...yTicks.map((t) => textWidth(yFmt(t), 11, engine)));
  const left = 24 + tickW + lineHeight(12);
  const top = 14 + lineHeight(15) + 6;
  // Legend entries wrap onto as many lines as they need.
  const legendRows: PlotSeries[][] = [[]];
  {
    let lx = 0;
    for (const s of series) {
      if (s.noLegend) continue;
      const w = 28 + textWidth(s.name, 11, engine) + 24;
      if (lx + w > width - 40 && legendRows[legendRows.length - 1].length > 0) {
        legendRows.push([]);
        lx = 0;
      }
      legendRows[legendRows.length - 1].push(s);
      lx += w;
    }
  }
  const legendH = legendRows.length * (lineHeight(11) + 4) + 4;
  const bottom = 14 + lineHeight(11) * 2 + legendH;
  const right = 32;
  const pw = width - left - right;
  const ph = height - top - bottom;
  const X = (x: number): number => left + ((x - xMin) / (xMax - xMin)) * pw;
  const Y = (y: number): number => top + ph - ((Math.max(yMin, Math.min(yMax, y)) - yMin) / (yMax - yMin)) * ph;

  c.text({ x: Math.floor(width / 2), y: 10, text: spec.title, size: 15, bold: true, anchor: 'middle', color: '#111111' });
  const shapes: string[] = [];
  // Grid and ticks.
  for (const t of yTicks) {
    const y = Math.round(Y(t)) + 0.5;
    shapes.push(`<line x1="${left}" y1="${y}" x2="${left + pw}" y2="${y}" stroke="#e3e3e3" stroke-width="1"/>`);
    shapes.push(`<line x1="${left - 5}" y1="${y}" x2="${left}" y2="${y}" stroke="#444" stroke-width="1"/>`);
    c.text({ x: left - 8, y: Math.round(Y(t) - lineHeight(11) / 2), text: yFmt(t), size: 11, anchor: 'end', color: '#333333' });
  }
  for (const t of xTicks) {
    const x = Math.round(X(t)) + 0.5;
    shapes.push(`<line x1="${x}" y1="${top + ph}" x2="${x}" y2="${top + ph + 5}" stroke="#444" stroke-width="1"/>`);
    c.text({ x: Math.round(X(t)), y: top + ph + 7, text: formatNumber(t), size: 11, anchor: 'middle', color: '#333333' });
  }
  // Axes.
  shapes.push(`<line x1="${left + 0.5}" y1="${top}" x2="${left + 0.5}" y2="${top + ph + 0.5}" stroke="#222" stroke-width="1"/>`);
  shapes.push(`<line x1="${left}" y1="${top + ph + 0.5}" x2="${left + pw}" y2="${top + ph + 0.5}" stroke="#222" stroke-width="1"/>`);
  c.text({ x: left + Math.floor(pw / 2), y: top + ph + 7 + lineHeight(11), text: spec.xLabel, size: 12, anchor: 'middle', color: '#222222' });
  // Y label, rotated (svg); bitmap text cannot rotate, so it goes above the axis instead.
  if (engine === 'svg') {
    const cx = 14;
    const cy = top + ph / 2;
    shapes.push(`<text x="${cx}" y="${cy}" font-size="12" fill="#222" text-anchor="middle" transform="rotate(-90 ${cx} ${cy})" dominant-baseline="middle">${esc(spec.yLabel)}</text>`);
  } else {
    c.text({ x: 8, y: top - lineHeight(11) - 2, text: spec.yLabel, size: 11, color: '#222222' });
  }
  // Series.
  for (const s of series) {
    const pts = s.points.filter((p) => Number.isFinite(p[1]));
    if (pts.length === 0) continue;
    const d = pts.map((p) => `${X(p[0]).toFixed(1)},${Y(p[1]).toFixed(1)}`).join(' ');
    if (pts.length > 1) {
      shapes.push(`<polyline points="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''} stroke-linejoin="round"/>`);
    }
    for (const p of pts) shapes.push(`<circle cx="${X(p[0]).toFixed(1)}" cy="${Y(p[1]).toFixed(1)}" r="3" fill="${s.color}"/>`);
  }
  // Legend.
  legendRows.forEach((row, r) => {
    let lx = legendRows.length > 1 ? 20 : left;
    const ly = height - legendH + 2 + r * (lineHeight(11) + 4);
    for (const s of row) {
      shapes.push(`<line x1="${lx}" y1="${ly + 7}" x2="${lx + 22}" y2="${ly + 7}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
      c.text({ x: lx + 28, y: ly, text: s.name, size: 11, color: '#222222' });
      lx += 28 + textWidth(s.name, 11, engine) + 24;
    }
  });
  c.svgShapes.push(...shapes);
  return c;
}

const pct = (v: number): string => `${Math.round(v * 100)}%`;

/** The loss plot: training loss (data + decay), training data loss and test loss per epoch. */
export function lossPlotSpec(metrics: readonly EpochMetrics[]): LinePlotSpec {
  return {
    title: 'Loss per epoch',
    xLabel: 'epoch',
    yLabel: 'loss (mean per image)',
    series: [
      { name: 'training loss', color: '#1f77b4', points: metrics.map((m) => [m.epoch, m.trainLoss]) },
      { name: 'training data loss (no weight decay)', color: '#1f77b4', dashed: true, points: metrics.map((m) => [m.epoch, m.trainDataLoss]) },
      { name: 'test loss', color: '#d62728', points: metrics.map((m) => [m.epoch, m.testLoss]) },
    ],
  };
}

export function accuracyPlotSpec(metrics: readonly EpochMetrics[]): LinePlotSpec {
  return {
    title: 'Accuracy per epoch',
    xLabel: 'epoch',
    yLabel: 'accuracy (fraction classified correctly)',
    yMin: 0,
    yMax: 1,
    yFormat: pct,
    series: [
      { name: 'training accuracy', color: '#1f77b4', points: metrics.map((m) => [m.epoch, m.trainAccuracy]) },
      { name: 'test accuracy', color: '#d62728', points: metrics.map((m) => [m.epoch, m.testAccuracy]) },
    ],
  };
}

/** Distinct colours for one line per layer. */
export const LAYER_COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22'];

function layerName(l: { layer: number; type: string }): string {
  return `${l.layer} ${l.type}`;
}

/** Layer health plots (one line per layer), from metrics with `health`; file name -> spec. */
export function healthPlotSpecs(metrics: readonly EpochMetrics[]): { name: string; spec: LinePlotSpec }[] {
  const withHealth = metrics.filter((m) => m.health && m.health.layers.length > 0);
  if (withHealth.length === 0) return [];
  const last = withHealth[withHealth.length - 1].health!;
  const weighted = last.layers.filter((l) => l.gradNorm !== undefined);
  const relus = last.layers.filter((l) => l.deadFraction !== undefined);
  const acts = last.layers.filter((l) => l.std !== undefined && !l.isLoss);
  const color = (k: number): string => LAYER_COLORS[k % LAYER_COLORS.length];
  const trace = (key: 'gradNorm' | 'updateRatio', layer: number): [number, number][] =>
    withHealth.flatMap((m) => m.health!.trace.filter((t) => t[key][layer] !== undefined).map((t) => [t.x, t[key][layer]] as [number, number]));
  const perEpoch = (layer: number, f: (l: NonNullable<EpochMetrics['health']>['layers'][number]) => number | undefined): [number, number][] =>
    withHealth.flatMap((m) => {
      const l = m.health!.layers.find((x) => x.layer === layer);
      const v = l ? f(l) : undefined;
      return v === undefined ? [] : [[m.epoch, v] as [number, number]];
    });
  const xMax = Math.max(...withHealth.map((m) => m.epoch));
  // The plots sit side by side: one x range for all, from the start of training (the trace's first point is
  // a tenth of an epoch in, the per-epoch values start at epoch 1) to the last epoch.
  const x = { xMin: Math.min(...withHealth.map((m) => m.epoch)) - 1, xMax };
  const out: { name: string; spec: LinePlotSpec }[] = [];
  if (weighted.length > 0) {
    out.push({
      name: 'health-gradient-norm',
      spec: {
        ...x, title: 'Gradient norm per layer (weights)', xLabel: 'epoch', yLabel: '||mean gradient|| (log scale)', yLog: true,
        series: weighted.map((l, k) => ({ name: layerName(l), color: color(k), points: trace('gradNorm', l.layer) })),
      },
    });
    out.push({
      name: 'health-update-ratio',
      spec: {
        ...x, title: 'Update-to-weight ratio per layer', xLabel: 'epoch', yLabel: '||Δw|| / ||w|| per step (log scale)', yLog: true,
        series: [
          ...weighted.map((l, k) => ({ name: layerName(l), color: color(k), points: trace('updateRatio', l.layer) })),
          { name: 'healthy ≈ 1e-3', color: '#555555', dashed: true, points: [[x.xMin, 1e-3], [xMax, 1e-3]] },
        ],
      },
    });
  }
  if (relus.length > 0) {
    out.push({
      name: 'health-dead-relu',
      spec: {
        ...x, title: 'Dead ReLU units per layer', xLabel: 'epoch', yLabel: 'fraction of units never on', yMin: 0, yMax: Math.max(0.1, ...relus.flatMap((l) => perEpoch(l.layer, (x) => x.deadFraction).map((p) => p[1] * 1.2))),
        yFormat: (v) => `${Math.round(v * 1000) / 10}%`,
        series: relus.map((l, k) => ({ name: layerName(l), color: color(k), points: perEpoch(l.layer, (x) => x.deadFraction) })),
      },
    });
  }
  if (acts.length > 0) {
    out.push({
      name: 'health-activations',
      spec: {
        ...x, title: 'Activation mean (dashed) and standard deviation (solid) per layer', xLabel: 'epoch', yLabel: 'value',
        series: acts.flatMap((l, k) => [
          { name: layerName(l), color: color(k), points: perEpoch(l.layer, (x) => x.std) },
          { name: `${layerName(l)} mean`, color: color(k), dashed: true, noLegend: true, points: perEpoch(l.layer, (x) => x.mean) },
        ]),
      },
    });
  }
  return out;
}

export async function renderPlotPng(spec: LinePlotSpec, engine: TextEngine): Promise<Buffer> {
  return encodeCanvasPng(composeLinePlot(spec, engine), engine);
}
