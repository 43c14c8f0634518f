/**
 * Per-channel bar charts: one panel per series (batch norm's gamma and beta, its running mean and
 * variance), one bar per channel from the zero line, the value range written beside the axis. For
 * the gamma-beta.png picture of a batch-norm layer: how much each channel is scaled and shifted.
 */
import { Canvas, lineHeight, textWidth, type TextEngine } from './canvas.js';
import { formatNumber } from './scale.js';

export interface BarSeries {
  name: string;
  values: ArrayLike<number>;
  /** A reference value drawn as a thin line (e.g. 1 for gamma: "no scaling"). */
  reference?: number;
}

const POS: readonly [number, number, number] = [178, 24, 43];
const NEG: readonly [number, number, number] = [33, 102, 172];
const AXIS: readonly [number, number, number] = [90, 90, 90];
const REF: readonly [number, number, number] = [190, 190, 190];

/** Channels side by side, series one under the other; bars red above zero, blue below. */
export function composeChannelBars(title: string, subtitle: string, series: BarSeries[], engine: TextEngine): Canvas {
  const channels = Math.max(1, ...series.map((s) => s.values.length));
  const bar = Math.max(3, Math.min(16, Math.floor(900 / channels)));
  const gap = bar >= 6 ? 1 : 0;
  const left = 150;
  const plotW = channels * bar;
  const width = Math.max(left + plotW + 20, textWidth(title, 14, engine, true) + 20, textWidth(subtitle, 11, engine) + 20, 360);
  const panelH = 90;
  const top = Math.round(10 + lineHeight(14) + lineHeight(11) + 8);
  const height = Math.round(top + series.length * (panelH + lineHeight(11) + 14) + 4);
  const c = new Canvas(width, height);
  c.text({ x: 10, y: 6, text: title, size: 14, bold: true });
  c.text({ x: 10, y: Math.round(6 + lineHeight(14)), text: subtitle, size: 11, color: '#555555' });
  series.forEach((s, k) => {
    const y0 = Math.round(top + k * (panelH + lineHeight(11) + 14));
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < s.values.length; i++) {
      lo = Math.min(lo, s.values[i]);
      hi = Math.max(hi, s.values[i]);
    }
    if (s.reference !== undefined) {
      lo = Math.min(lo, s.reference);
      hi = Math.max(hi, s.reference);
    }
    if (hi - lo < 1e-12) hi = lo + 1;
    const yOf = (v: number) => y0 + ((hi - v) / (hi - lo)) * panelH;
    const zero = yOf(0);
    c.text({ x: 10, y: Math.round(y0 + panelH / 2 - lineHeight(12) / 2), text: s.name, size: 12, bold: true });
    c.text({ x: left - 6, y: Math.round(y0 - lineHeight(11) / 2), text: formatNumber(hi), size: 11, anchor: 'end', color: '#555555' });
    c.text({ x: left - 6, y: Math.round(y0 + panelH - lineHeight(11) / 2), text: formatNumber(lo), size: 11, anchor: 'end', color: '#555555' });
    if (s.reference !== undefined) c.fillRect(left, Math.round(yOf(s.reference)), plotW, 1, REF);
    for (let i = 0; i < s.values.length; i++) {
      const v = s.values[i];
      const y = yOf(v);
      const x = left + i * bar;
      if (v >= 0) c.fillRect(x, y, bar - gap, Math.max(1, zero - y), POS);
      else c.fillRect(x, zero, bar - gap, Math.max(1, y - zero), NEG);
    }
    c.fillRect(left, Math.round(zero), plotW, 1, AXIS);
    c.fillRect(left - 1, y0, 1, panelH + 1, AXIS);
    c.text({ x: left, y: y0 + panelH + 3, text: `channel 0 … ${s.values.length - 1}`, size: 11, color: '#555555' });
  });
  return c;
}
