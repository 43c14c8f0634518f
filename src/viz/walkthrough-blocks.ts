/**
 * The walkthroughs of today's networks, besides conv -> ReLU -> pool (walkthrough.ts):
 *
 *   conv -> batch norm -> ReLU: one probe image, a few channels; forward: the conv output, batch norm's
 *   output (normalised, then scaled by gamma and shifted by beta), where the ReLU fired; backward: the
 *   gradient at the ReLU's output, at batch norm's output (the ReLU's mask applied), at the conv's output
 *   (batch norm's backward: in the probe pass, evaluation mode, gamma/sigma per channel).
 *
 *   a residual block (an add of two inputs): the block's own path (the branch) and the shortcut, their
 *   sum; backward: the add's gradient goes unchanged down both paths, and at the block's input the
 *   shortcut's part and the branch's part add up. Norms of each, for every block of the network.
 *
 * Found by the layers' roles (LayerHints.role), computed from the probe pass only (ProbeResult).
 */
import { Canvas, lineHeight, wrapText, type TextEngine } from './canvas.js';
import { drawScalarTile, fillRect, type RawImage } from './grid.js';
import { formatNumber, robustScale } from './scale.js';
import type { LayerProbe, ProbeResult } from './types.js';
import { drawIntro, introHeight, WALKTHROUGH_MARGIN, wrapIntro } from './walkthrough.js';

const CHANNELS = 4;

function norm(a: ArrayLike<number>, start = 0, end = a.length): number {
  let s = 0;
  for (let i = start; i < end; i++) s += a[i] * a[i];
  return Math.sqrt(s);
}

function reads(layers: readonly LayerProbe[], j: number): number[] {
  return layers.filter((l) => l.inputs.includes(j)).map((l) => l.index);
}

/** The first conv -> batch norm -> ReLU chain, each reading only the one before and read only by the next. */
export function findConvBnRelu(layers: readonly LayerProbe[]): { conv: number; bn: number; relu: number } | undefined {
  for (const a of layers) {
    if (a.role !== 'filter') continue;
    const [bn] = reads(layers, a.index).map((i) => layers[i]);
    if (!bn || bn.role !== 'normalise' || reads(layers, a.index).length !== 1) continue;
    const after = reads(layers, bn.index);
    const relu = layers[after[0]];
    if (after.length !== 1 || !relu || relu.role !== 'gate') continue;
    return { conv: a.index, bn: bn.index, relu: relu.index };
  }
  return undefined;
}

export interface BnWalkthroughData {
  row: number;
  layers: { conv: number; bn: number; relu: number };
  channels: number[];
  /** Per drawn channel: batch norm's statistics and parameters, the conv output's mean and std on this image, the gradient ratio. */
  perChannel: {
    channel: number; runningMean: number; runningStd: number; gamma: number; beta: number;
    convMean: number; convStd: number; bnMean: number; bnStd: number;
    /** ||d(loss)/d(conv out)|| / ||d(loss)/d(BN out)|| on this channel, and gamma/sigma (equal in evaluation mode). */
    gradRatio: number; gammaOverSigma: number;
    reluOff: number;
  }[];
  norms: { reluOut: number; bnOut: number; convOut: number };
  scales: { conv: number; bn: number; gradient: number };
}

function meanStd(a: Float32Array, start: number, end: number): [number, number] {
  let s = 0;
  for (let i = start; i < end; i++) s += a[i];
  const m = s / Math.max(1, end - start);
  let v = 0;
  for (let i = start; i < end; i++) v += (a[i] - m) ** 2;
  return [m, Math.sqrt(v / Math.max(1, end - start))];
}

function named(l: LayerProbe, name: string): Float32Array | undefined {
  return l.channelParams?.find((p) => p.name === name)?.values ?? l.state?.find((s) => s.name === name)?.values;
}

export function computeBnWalkthrough(probe: ProbeResult, row = 0): BnWalkthroughData | undefined {
  const at = findConvBnRelu(probe.layers);
  if (!at || row >= probe.labels.length) return undefined;
  const conv = probe.layers[at.conv];
  const bn = probe.layers[at.bn];
  const relu = probe.layers[at.relu];
  const [C, H, W] = bn.outShape;
  const hw = H * W;
  const off = row * C * hw;
  const rm = named(bn, 'runningMean');
  const rv = named(bn, 'runningVar');
  const gamma = named(bn, 'gamma');
  const beta = named(bn, 'beta');
  const eps = typeof bn.config?.eps === 'number' ? bn.config.eps : 1e-5;
  const energy = Array.from({ length: C }, (_, c) => norm(conv.activationGrads, off + c * hw, off + (c + 1) * hw));
  const channels = energy.map((e, c) => [e, c]).sort((a, b) => b[0] - a[0] || a[1] - b[1]).slice(0, Math.min(CHANNELS, C)).map((x) => x[1]).sort((a, b) => a - b);
  const perChannel = channels.map((c) => {
    const s = off + c * hw;
    const [convMean, convStd] = meanStd(conv.activations, s, s + hw);
    const [bnMean, bnStd] = meanStd(bn.activations, s, s + hw);
    const runningStd = Math.sqrt((rv?.[c] ?? 1) + eps);
    const g = gamma?.[c] ?? 1;
    const nb = norm(bn.activationGrads, s, s + hw);
    let off0 = 0;
    for (let i = s; i < s + hw; i++) if (relu.activations[i] === 0) off0++;
    return {
      channel: c, runningMean: rm?.[c] ?? 0, runningStd, gamma: g, beta: beta?.[c] ?? 0, convMean, convStd, bnMean, bnStd,
      gradRatio: nb > 0 ? norm(conv.activationGrads, s, s + hw) / nb : 0, gammaOverSigma: g / runningStd, reluOff: off0 / hw,
    };
  });
  const pick = (a: Float32Array): number[] => channels.flatMap((c) => Array.from(a.subarray(off + c * hw, off + (c + 1) * hw)));
  const grads = [...pick(relu.activationGrads), ...pick(bn.activationGrads), ...pick(conv.activationGrads)];
  const n = C * hw;
  return {
    row, layers: at, channels, perChannel,
    norms: { reluOut: norm(relu.activationGrads, off, off + n), bnOut: norm(bn.activationGrads, off, off + n), convOut: norm(conv.activationGrads, off, off + n) },
    scales: { conv: robustScale('diverging', pick(conv.activations)), bn: robustScale('diverging', pick(bn.activations)), gradient: robustScale('diverging', grads) },
  };
}

/** One residual block: its add, the input on the block's own path (branch) and the shortcut's, and the block's input. */
export interface ResidualBlock {
  add: number;
  branch: number;
  shortcut: number;
  /** The layer both paths start from (the block's input). */
  start: number;
  /** Layers on the branch between start and the add, and on the shortcut (0: identity). */
  branchLayers: number;
  shortcutLayers: number;
}

/** Walk back from `from` along first inputs to the nearest layer read by two or more layers. */
function pathBack(layers: readonly LayerProbe[], from: number): { start: number; length: number } {
  let i = from;
  let length = 0;
  while (i > 0 && reads(layers, i).length < 2 && layers[i].inputs.length === 1) {
    i = layers[i].inputs[0];
    length++;
  }
  return { start: i, length };
}

/** Every add of two inputs whose paths meet again at one layer: the shorter path is the shortcut. */
export function findResidualBlocks(layers: readonly LayerProbe[]): ResidualBlock[] {
  const out: ResidualBlock[] = [];
  for (const l of layers) {
    if (l.role !== 'sum' || l.inputs.length !== 2) continue;
    const [a, b] = l.inputs.map((j) => ({ j, ...pathBack(layers, j) }));
    if (a.start !== b.start) continue;
    const [branch, shortcut] = a.length >= b.length ? [a, b] : [b, a];
    out.push({ add: l.index, branch: branch.j, shortcut: shortcut.j, start: a.start, branchLayers: branch.length, shortcutLayers: shortcut.length });
  }
  return out;
}

export interface ResidualNorms {
  block: ResidualBlock;
  name: string;
  /** ||d(loss)/d(add output)||: what both paths receive at their top, over all probe images. */
  atAdd: number;
  /** ||d(loss)/d(block input)||, the sum of both paths' parts (and of any other reader). */
  atStart: number;
  /** Identity shortcut only: the shortcut's part at the block's input (= atAdd) and the branch's part (the rest). */
  shortcutPart?: number;
  branchPart?: number;
  /** ||branch output|| and ||shortcut output|| (forward, all probe images). */
  branchOut: number;
  shortcutOut: number;
}

export interface ResidualWalkthroughData {
  row: number;
  /** The block drawn (the first whose shortcut is the identity, else the first). */
  drawn: ResidualNorms;
  channels: number[];
  blocks: ResidualNorms[];
  scales: { forward: number; gradient: number };
}

function blockNorms(layers: readonly LayerProbe[], b: ResidualBlock): ResidualNorms {
  const add = layers[b.add];
  const start = layers[b.start];
  const atAdd = norm(add.activationGrads);
  const r: ResidualNorms = {
    block: b, name: add.name, atAdd, atStart: norm(start.activationGrads),
    branchOut: norm(layers[b.branch].activations), shortcutOut: norm(layers[b.shortcut].activations),
  };
  // Identity shortcut read only by this add and the branch: the block input's gradient = shortcut part + branch part.
  if (b.shortcutLayers === 0 && reads(layers, b.start).length === 2) {
    const g = start.activationGrads;
    const s = add.activationGrads;
    let rest = 0;
    for (let i = 0; i < g.length; i++) rest += (g[i] - s[i]) ** 2;
    r.shortcutPart = atAdd;
    r.branchPart = Math.sqrt(rest);
  }
  return r;
}

export function computeResidualWalkthrough(probe: ProbeResult, row = 0): ResidualWalkthroughData | undefined {
  const blocks = findResidualBlocks(probe.layers);
  if (blocks.length === 0 || row >= probe.labels.length) return undefined;
  const norms = blocks.map((b) => blockNorms(probe.layers, b));
  const drawn = norms.find((n) => n.shortcutPart !== undefined) ?? norms[0];
  const add = probe.layers[drawn.block.add];
  const [C, H, W] = add.outShape;
  const hw = H * W;
  const off = row * C * hw;
  const energy = Array.from({ length: C }, (_, c) => norm(add.activationGrads, off + c * hw, off + (c + 1) * hw));
  const channels = energy.map((e, c) => [e, c]).sort((a, b) => b[0] - a[0] || a[1] - b[1]).slice(0, Math.min(CHANNELS, C)).map((x) => x[1]).sort((a, b) => a - b);
  const pick = (a: Float32Array): number[] => channels.flatMap((c) => Array.from(a.subarray(off + c * hw, off + (c + 1) * hw)));
  const L = probe.layers;
  const fwd = [...pick(L[drawn.block.branch].activations), ...pick(L[drawn.block.shortcut].activations), ...pick(add.activations)];
  const grads = [...pick(add.activationGrads), ...(drawn.shortcutPart !== undefined ? pick(L[drawn.block.start].activationGrads) : [])];
  return { row, drawn, channels, blocks: norms, scales: { forward: robustScale('diverging', fwd), gradient: robustScale('diverging', grads) } };
}

interface Column {
  head: [string, string];
  /** The tile of one channel: data, offset, and an optional number printed under it. */
  tile(ch: number, k: number): { data: ArrayLike<number>; offset: number; scale: number; under?: string };
}

/** A table of tiles: one row per channel, one column per quantity, text above and notes below. */
function composeTiles(intro: string[], columns: Column[], channels: number[], H: number, W: number, notes: string[], engine: TextEngine, split: number): Canvas {
  const MARGIN = WALKTHROUGH_MARGIN;
  const GAP = 22;
  const zoom = Math.max(1, Math.floor(128 / Math.max(H, W)));
  const tw = W * zoom;
  const th = H * zoom;
  const rowLabelW = 90;
  const width = Math.max(MARGIN * 2 + rowLabelW + columns.length * (tw + GAP) + 2 * GAP, 760);
  const textW = width - 2 * MARGIN;
  const introLines = wrapIntro(intro, textW, engine);
  const noteLines = notes.map((t) => wrapText(t, 11, textW, engine));
  let y = MARGIN + introHeight(introLines);
  const phaseY = y + 4;
  const headY = phaseY + lineHeight(12) + 2;
  const gridY = headY + 2 * lineHeight(11) + 4;
  const rowH = th + lineHeight(11) + 8;
  const height = gridY + channels.length * rowH + noteLines.reduce((a, l) => a + l.length * lineHeight(11), 0) + 2 * MARGIN;
  const c = new Canvas(width, height);
  const img: RawImage = { data: c.data, width, height };
  y = drawIntro(c, introLines);
  const colX = (k: number): number => MARGIN + rowLabelW + k * (tw + GAP) + (k >= split ? 2 * GAP : 0);
  c.text({ x: colX(0), y: phaseY, text: 'forward →', size: 12, bold: true, color: '#1a4f8a' });
  c.text({ x: colX(split), y: phaseY, text: '← backward (gradients, one colour scale)', size: 12, bold: true, color: '#8a1a1a' });
  columns.forEach((col, k) => {
    c.text({ x: colX(k) + Math.floor(tw / 2), y: headY, text: col.head[0], size: 11, bold: true, anchor: 'middle', color: '#222222' });
    c.text({ x: colX(k) + Math.floor(tw / 2), y: headY + lineHeight(11), text: col.head[1], size: 11, anchor: 'middle', color: '#555555' });
  });
  fillRect(img, colX(split) - GAP - 1, phaseY, 2, channels.length * rowH + (gridY - phaseY), [150, 150, 150]);
  channels.forEach((ch, r) => {
    const ty = gridY + r * rowH;
    c.text({ x: MARGIN + rowLabelW - 8, y: ty + Math.floor(th / 2) - 7, text: `channel ${ch}`, size: 11, anchor: 'end', color: '#333333' });
    columns.forEach((col, k) => {
      const t = col.tile(ch, r);
      fillRect(img, colX(k) - 1, ty - 1, tw + 2, th + 2, [150, 150, 150]);
      drawScalarTile(img, colX(k), ty, t.data, t.offset, H, W, zoom, 'diverging', t.scale);
      if (t.under) c.text({ x: colX(k) + Math.floor(tw / 2), y: ty + th + 2, text: t.under, size: 11, anchor: 'middle', color: '#222222' });
    });
  });
  let ny = gridY + channels.length * rowH + 4;
  for (const lines of noteLines) {
    for (const line of lines) {
      c.text({ x: MARGIN, y: ny, size: 11, color: '#333333', text: line });
      ny += lineHeight(11);
    }
  }
  return c;
}

function which(probe: ProbeResult, row: number, classNames: string[]): string {
  const label = classNames[probe.labels[row]] ?? `${probe.labels[row]}`;
  return probe.userImage ? `your image (loss measured against ${label})` : `probe image ${row} (test #${probe.probeIndices[row] ?? -1}, true class ${label})`;
}

export function composeBnWalkthrough(probe: ProbeResult, d: BnWalkthroughData, classNames: string[], engine: TextEngine): Canvas {
  const L = probe.layers;
  const [C, H, W] = L[d.layers.bn].outShape;
  const base = (ch: number): number => (d.row * C + ch) * H * W;
  const pc = (k: number) => d.perChannel[k];
  const columns: Column[] = [
    { head: ['conv output', `layer ${d.layers.conv}`], tile: (ch, k) => ({ data: L[d.layers.conv].activations, offset: base(ch), scale: d.scales.conv, under: `mean ${formatNumber(pc(k).convMean)}` }) },
    { head: ['batch norm output', `layer ${d.layers.bn}`], tile: (ch, k) => ({ data: L[d.layers.bn].activations, offset: base(ch), scale: d.scales.bn, under: `mean ${formatNumber(pc(k).bnMean)}` }) },
    { head: ['ReLU output', `layer ${d.layers.relu}`], tile: (ch, k) => ({ data: L[d.layers.relu].activations, offset: base(ch), scale: d.scales.bn, under: `off ${(100 * pc(k).reluOff).toFixed(0)}%` }) },
    { head: ['d(loss)/d(ReLU out)', 'from above'], tile: (ch) => ({ data: L[d.layers.relu].activationGrads, offset: base(ch), scale: d.scales.gradient }) },
    { head: ['d(loss)/d(BN out)', '× ReLU mask'], tile: (ch) => ({ data: L[d.layers.bn].activationGrads, offset: base(ch), scale: d.scales.gradient }) },
    { head: ['d(loss)/d(conv out)', '× γ/σ'], tile: (ch, k) => ({ data: L[d.layers.conv].activationGrads, offset: base(ch), scale: d.scales.gradient, under: `×${formatNumber(pc(k).gradRatio)}` }) },
  ];
  const intro = [
    `Walkthrough · ${which(probe, d.row, classNames)} through layer ${d.layers.conv} (conv), ${d.layers.bn} (batch norm) and ${d.layers.relu} (ReLU)`,
    'Forward, left to right: the conv output; batch norm subtracts each channel\u2019s running mean, divides by its running standard deviation \u03c3, then multiplies by \u03b3 and adds \u03b2 (the probe runs in evaluation mode); the ReLU keeps the positive values. ' +
      'Backward, right to left: the ReLU passes its gradient only where it fired; batch norm multiplies each channel\u2019s gradient by \u03b3/\u03c3, so the conv\u2019s gradient has the same pattern, rescaled per channel (the factor is under each tile).',
  ];
  const notes = [
    `Per channel (drawn rows): ${d.perChannel.map((p) => `${p.channel}: running mean ${formatNumber(p.runningMean)}, \u03c3 ${formatNumber(p.runningStd)}, \u03b3 ${formatNumber(p.gamma)}, \u03b2 ${formatNumber(p.beta)}, \u03b3/\u03c3 ${formatNumber(p.gammaOverSigma)}`).join('; ')}.`,
    `Colours: blue negative, white 0, red positive. Conv output scale \u00b1${formatNumber(d.scales.conv)}; batch norm and ReLU outputs \u00b1${formatNumber(d.scales.bn)}; the three gradients share \u00b1${formatNumber(d.scales.gradient)}.`,
  ];
  return composeTiles(intro, columns, d.channels, H, W, notes, engine, 3);
}

export function composeResidualWalkthrough(probe: ProbeResult, d: ResidualWalkthroughData, classNames: string[], engine: TextEngine): Canvas {
  const L = probe.layers;
  const b = d.drawn.block;
  const [C, H, W] = L[b.add].outShape;
  const base = (ch: number): number => (d.row * C + ch) * H * W;
  const identity = d.drawn.shortcutPart !== undefined;
  // The branch's part of the block input's gradient: the total minus the shortcut's (identity shortcut).
  const branchPart = new Float32Array(L[b.start].activationGrads.length);
  if (identity) for (let i = 0; i < branchPart.length; i++) branchPart[i] = L[b.start].activationGrads[i] - L[b.add].activationGrads[i];
  const columns: Column[] = [
    { head: ['branch output', `layer ${b.branch}`], tile: (ch) => ({ data: L[b.branch].activations, offset: base(ch), scale: d.scales.forward }) },
    { head: ['shortcut', `layer ${b.shortcut}`], tile: (ch) => ({ data: L[b.shortcut].activations, offset: base(ch), scale: d.scales.forward }) },
    { head: ['sum', `layer ${b.add}`], tile: (ch) => ({ data: L[b.add].activations, offset: base(ch), scale: d.scales.forward }) },
    { head: ['d(loss)/d(sum)', 'to both paths'], tile: (ch) => ({ data: L[b.add].activationGrads, offset: base(ch), scale: d.scales.gradient }) },
    ...(identity
      ? [
          { head: ['via the shortcut', `at layer ${b.start}`], tile: (ch: number) => ({ data: L[b.add].activationGrads, offset: base(ch), scale: d.scales.gradient }) },
          { head: ['via the branch', `at layer ${b.start}`], tile: (ch: number) => ({ data: branchPart, offset: base(ch), scale: d.scales.gradient }) },
          { head: ['total', `at layer ${b.start}`], tile: (ch: number) => ({ data: L[b.start].activationGrads, offset: base(ch), scale: d.scales.gradient }) },
        ] as Column[]
      : []),
  ];
  const n = d.drawn;
  const intro = [
    `Walkthrough · ${which(probe, d.row, classNames)} through the residual block ending at layer ${b.add} (${n.name})`,
    `Forward: the block\u2019s own path (${n.block.branchLayers} layers, ending at layer ${b.branch}) and the shortcut (${n.block.shortcutLayers === 0 ? 'the block\u2019s input itself' : `${n.block.shortcutLayers} layers, a projection`}) are added. ` +
      'Backward: the add hands its gradient unchanged to both paths. ' +
      (identity
        ? `At the block\u2019s input (layer ${b.start}) the two parts add up: the shortcut\u2019s part is the add\u2019s gradient itself, the branch\u2019s part is what came back through its convs and batch norms.`
        : 'This block\u2019s shortcut is a projection, so only the add\u2019s gradient is drawn.'),
    `Norms over all probe images: d(loss)/d(sum) ${formatNumber(n.atAdd)}${identity ? `; at the block\u2019s input: via the shortcut ${formatNumber(n.shortcutPart!)}, via the branch ${formatNumber(n.branchPart!)}, total ${formatNumber(n.atStart)}` : `; at the block\u2019s input ${formatNumber(n.atStart)}`}.`,
  ];
  const notes = [`Colours: blue negative, white 0, red positive. Forward columns \u00b1${formatNumber(d.scales.forward)}; gradient columns share \u00b1${formatNumber(d.scales.gradient)}.`];
  return composeTiles(intro, columns, d.channels, H, W, notes, engine, 3);
}
