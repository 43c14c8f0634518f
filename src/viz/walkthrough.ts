/**
 * The walkthrough: one probe image followed from the first conv through its ReLU and the first max
 * pool, forward and backward, for a few channels side by side. It answers "what does the ReLU's / the
 * pool's gradient look like, and why is it sparse" with the learner's own picture:
 *
 *   forward:  conv output -> ReLU mask (where it fired) -> pool winners (the max of each window)
 *   backward: d(loss)/d(pool output) (dense) -> d(loss)/d(ReLU output) (only at winners)
 *             -> d(loss)/d(conv output) (winners where the ReLU also fired)
 *
 * Everything is computed from the probe pass (ProbeResult), never from the network: the pool winners
 * are recomputed from the ReLU output with the pool's window (same rule as src/tensor/pool2d.ts: the
 * first maximum in row-major window order among in-bounds positions). Zero fractions are exact counts.
 */
import { Canvas, lineHeight, wrapText, type TextEngine } from './canvas.js';
import { drawImageTile, drawScalarTile, fillRect, type RawImage } from './grid.js';
import { formatNumber, robustScale, countClipped } from './scale.js';
import type { LayerProbe, ProbeResult } from './types.js';

export const WALKTHROUGH_CHANNELS = 4;

/** The first conv -> (relu-like) -> max pool chain of a network, by layer position. */
export function findWalkthroughLayers(layers: readonly LayerProbe[]): { conv: number; relu: number; pool: number } | undefined {
  for (let i = 0; i + 2 < layers.length; i++) {
    const [a, b, c] = [layers[i], layers[i + 1], layers[i + 2]];
    // By role (its type's LayerHints.role), each reading the one before.
    if (a.role === 'filter' && b.role === 'gate' && c.role === 'window-max' && c.window) {
      if (a.outShape.join() !== b.outShape.join()) continue;
      if (b.inputs.join() !== `${a.index}` || c.inputs.join() !== `${b.index}`) continue;
      return { conv: i, relu: i + 1, pool: i + 2 };
    }
  }
  return undefined;
}

/** For every pool output of one (C, H, W) sample, marks its window's winner in a (C, H, W) mask. */
export function poolWinners(input: Float32Array, offset: number, shape: readonly [number, number, number], win: NonNullable<LayerProbe['window']>, outShape: readonly [number, number, number]): Uint8Array {
  const [C, H, W] = shape;
  const [, OH, OW] = outShape;
  const mask = new Uint8Array(C * H * W);
  for (let c = 0; c < C; c++) {
    const base = offset + c * H * W;
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        let best = -Infinity;
        let bestIdx = -1;
        for (let y = Math.max(0, oy * win.stride - win.pad); y < Math.min(H, oy * win.stride - win.pad + win.kernelH); y++) {
          for (let x = Math.max(0, ox * win.stride - win.pad); x < Math.min(W, ox * win.stride - win.pad + win.kernelW); x++) {
            const v = input[base + y * W + x];
            if (v > best) {
              best = v;
              bestIdx = y * W + x;
            }
          }
        }
        if (bestIdx >= 0) mask[c * H * W + bestIdx] = 1;
      }
    }
  }
  return mask;
}

function zeroFraction(a: ArrayLike<number>, start: number, end: number): number {
  let z = 0;
  for (let i = start; i < end; i++) if (a[i] === 0) z++;
  return end > start ? z / (end - start) : 0;
}

/** What the walkthrough shows, as numbers (also written to walkthrough.json; tests check them). */
export interface WalkthroughData {
  /** Probe row (0-based) and its test index. */
  row: number;
  testIndex: number;
  layers: { conv: number; relu: number; pool: number };
  /** The channels drawn: those with the largest total |d(loss)/d(conv output)| for this image. */
  channels: number[];
  /** Over all channels of this image: fractions of exactly-zero values. */
  zeroFractions: {
    reluActivations: number;
    poolOutputGradient: number;
    reluOutputGradient: number;
    convOutputGradient: number;
  };
  /** Fraction of ReLU-output positions that win their pool window (1/4 for 2x2 stride 2). */
  winnerFraction: number;
  /** Per drawn channel, the same zero fractions. */
  perChannel: { channel: number; reluActivations: number; poolOutputGradient: number; reluOutputGradient: number; convOutputGradient: number }[];
  /** Colour scales: conv output (diverging), all three gradients share one. */
  scales: { conv: number; gradient: number; gradientClipped: number };
}

export function computeWalkthrough(probe: ProbeResult, row = 0, channelCount = WALKTHROUGH_CHANNELS): WalkthroughData | undefined {
  const at = findWalkthroughLayers(probe.layers);
  const P = probe.labels.length;
  if (!at || row < 0 || row >= P) return undefined;
  const conv = probe.layers[at.conv];
  const relu = probe.layers[at.relu];
  const pool = probe.layers[at.pool];
  const [C, H, W] = relu.outShape;
  const [, PH, PW] = pool.outShape;
  const n = C * H * W;
  const pn = C * PH * PW;
  const off = row * n;
  const poff = row * pn;
  const winners = poolWinners(relu.activations, off, relu.outShape, pool.window!, pool.outShape);
  const energy = Array.from({ length: C }, (_, c) => {
    let e = 0;
    for (let i = off + c * H * W; i < off + (c + 1) * H * W; i++) e += Math.abs(conv.activationGrads[i]);
    return e;
  });
  const channels = energy.map((e, c) => [e, c]).sort((a, b) => b[0] - a[0] || a[1] - b[1]).slice(0, Math.min(channelCount, C)).map((x) => x[1]).sort((a, b) => a - b);
  let wins = 0;
  for (let i = 0; i < n; i++) wins += winners[i];
  const perChannel = channels.map((c) => ({
    channel: c,
    reluActivations: zeroFraction(relu.activations, off + c * H * W, off + (c + 1) * H * W),
    poolOutputGradient: zeroFraction(pool.activationGrads, poff + c * PH * PW, poff + (c + 1) * PH * PW),
    reluOutputGradient: zeroFraction(relu.activationGrads, off + c * H * W, off + (c + 1) * H * W),
    convOutputGradient: zeroFraction(conv.activationGrads, off + c * H * W, off + (c + 1) * H * W),
  }));
  // One gradient scale for the three gradient columns (the same values move down), robust over the drawn channels.
  const g: number[] = [];
  for (const c of channels) for (let i = poff + c * PH * PW; i < poff + (c + 1) * PH * PW; i++) g.push(pool.activationGrads[i]);
  const gradScale = robustScale('diverging', g);
  const convVals: number[] = [];
  for (const c of channels) for (let i = off + c * H * W; i < off + (c + 1) * H * W; i++) convVals.push(conv.activations[i]);
  return {
    row,
    testIndex: probe.probeIndices[row] ?? -1,
    layers: at,
    channels,
    zeroFractions: {
      reluActivations: zeroFraction(relu.activations, off, off + n),
      poolOutputGradient: zeroFraction(pool.activationGrads, poff, poff + pn),
      reluOutputGradient: zeroFraction(relu.activationGrads, off, off + n),
      convOutputGradient: zeroFraction(conv.activationGrads, off, off + n),
    },
    winnerFraction: wins / n,
    perChannel,
    scales: { conv: robustScale('diverging', convVals), gradient: gradScale, gradientClipped: countClipped('diverging', g, gradScale) },
  };
}

export function pctText(f: number): string {
  return `${(100 * f).toFixed(1)}%`;
}

const TILE = 128;
const GAP = 10;
const MARGIN = 12;

/** The margin of every walkthrough picture (the residual and batch-norm ones too). */
export const WALKTHROUGH_MARGIN = MARGIN;

/** A walkthrough's intro: a bold title paragraph, then plain ones, wrapped to `textW`. */
export function wrapIntro(intro: readonly string[], textW: number, engine: TextEngine): string[][] {
  return intro.map((t, i) => wrapText(t, i === 0 ? 14 : 12, textW, engine, i === 0));
}

/** The height of a wrapped intro, paragraph gaps included. */
export function introHeight(introLines: readonly string[][]): number {
  return introLines.reduce((a, lines, i) => a + lines.length * lineHeight(i === 0 ? 14 : 12) + 4, 0);
}

/** Draws a wrapped intro from y = MARGIN; returns the y below it. */
export function drawIntro(c: Canvas, introLines: readonly string[][]): number {
  let y = MARGIN;
  introLines.forEach((lines, i) => {
    for (const line of lines) {
      c.text({ x: MARGIN, y, text: line, size: i === 0 ? 14 : 12, bold: i === 0, color: i === 0 ? '#111111' : '#333333' });
      y += lineHeight(i === 0 ? 14 : 12);
    }
    y += 4;
  });
  return y;
}

/** Draws the walkthrough picture (see the module notes). */
export function composeWalkthrough(probe: ProbeResult, d: WalkthroughData, classNames: string[], engine: TextEngine): Canvas {
  const conv = probe.layers[d.layers.conv];
  const relu = probe.layers[d.layers.relu];
  const pool = probe.layers[d.layers.pool];
  const [C, H, W] = relu.outShape;
  const [, PH, PW] = pool.outShape;
  const zoom = Math.max(1, Math.floor(TILE / Math.max(H, W)));
  const tw = W * zoom;
  const th = H * zoom;
  const pzoom = Math.max(1, Math.floor(TILE / Math.max(PH, PW)));
  const rowLabelW = 90;
  const cols = 6;
  const width = MARGIN * 2 + rowLabelW + cols * tw + (cols - 1) * GAP + 2 * GAP;
  const textW = width - 2 * MARGIN;
  const win = pool.window!;
  const label = classNames[probe.labels[d.row]] ?? `${probe.labels[d.row]}`;
  // visualize --image: the user's image has no test index and no true label; the loss is measured against `label`.
  const user = probe.userImage;
  const which = user ? `your image (no true label; loss measured against ${label})` : `probe image ${d.row} (test #${d.testIndex}, true class ${label})`;
  const intro = [
    `Walkthrough · ${which} through layer ${d.layers.conv} (conv), ${d.layers.relu} (${relu.type}) and ${d.layers.pool} (max pool ${win.kernelW}x${win.kernelH}, stride ${win.stride})`,
    `Forward, left to right: the conv output; where the ReLU fired (white = output > 0, black = 0); the pool winners (white = the largest value of its ${win.kernelW}x${win.kernelH} window, the only position the pool passes on). ` +
      `Backward, right to left: the gradient arriving at the pool's output is dense; the pool sends each value to its window's winner only, so the ReLU's output gradient is zero everywhere else; ` +
      `the ReLU passes that on only where it fired, so the conv's output gradient is zero also wherever the ReLU was off.`,
    `This image, all ${C} channels: ReLU off (output 0) at ${pctText(d.zeroFractions.reluActivations)} of positions; pool winners ${pctText(d.winnerFraction)}. ` +
      `Exactly-zero gradient: pool output ${pctText(d.zeroFractions.poolOutputGradient)}, ReLU output ${pctText(d.zeroFractions.reluOutputGradient)}, conv output ${pctText(d.zeroFractions.convOutputGradient)}.`,
  ];
  const introLines = wrapIntro(intro, textW, engine);
  const imgZoom = 3;
  let y = MARGIN + introHeight(introLines);
  const imageY = y + 4;
  y = imageY + 32 * imgZoom + 10;
  const phaseY = y;
  y += lineHeight(12) + 2;
  const headY = y;
  const heads = [
    ['conv output', `layer ${d.layers.conv}`],
    ['ReLU fired', 'white = yes'],
    ['pool winners', 'max of each window'],
    ['d(loss)/d(pool out)', 'dense'],
    ['d(loss)/d(ReLU out)', 'only at winners'],
    ['d(loss)/d(conv out)', '× ReLU mask'],
  ];
  y += 2 * lineHeight(11) + 4;
  const gridY = y;
  const rowH = th + lineHeight(11) + 8;
  const notes = [
    `Colours: conv output blue (negative) / white (0) / red (positive), scale ±${formatNumber(d.scales.conv)}; the gradients use the same map with one scale, ±${formatNumber(d.scales.gradient)}, for all three columns${d.scales.gradientClipped ? ` (${d.scales.gradientClipped} pool-output values beyond it, drawn in the end colour)` : ''}: white is exactly zero.`,
    '"zeros" = the fraction of that tile\u2019s values that are exactly 0. Pool winners: white = the winner fired (> 0); grey = a window of zeros (the ReLU was off everywhere in it): it still has a winner, but the ReLU mask then cuts its gradient, which is why the conv output gradient has more zeros than the ReLU\u2019s.',
  ].map((t) => wrapText(t, 11, textW, engine));
  const notesH = notes.reduce((a, l) => a + l.length * lineHeight(11), 0);
  const height = gridY + d.channels.length * rowH + notesH + MARGIN * 2;
  const c = new Canvas(width, height);
  const img: RawImage = { data: c.data, width, height };
  y = drawIntro(c, introLines);
  const [IC, IH, IW] = probe.imageShape;
  if ((IC === 3 || IC === 1) && IH <= 32 && IW <= 32 && probe.images.length >= (d.row + 1) * IC * IH * IW) {
    drawImageTile(img, MARGIN, imageY, probe.images, d.row * IC * IH * IW, IH, IW, imgZoom, IC);
    c.text({ x: MARGIN + 32 * imgZoom + 10, y: imageY + 4, text: user ? `your image: ${label}` : `probe image ${d.row}: ${label}`, size: 12, bold: true, color: '#111111' });
    c.text({ x: MARGIN + 32 * imgZoom + 10, y: imageY + 4 + lineHeight(12), text: `rows: ${d.channels.length} of its ${C} channels (those with the largest gradient)`, size: 11, color: '#444444' });
  }
  const colX = (k: number): number => MARGIN + rowLabelW + k * (tw + GAP) + (k >= 3 ? 2 * GAP : 0);
  c.text({ x: colX(0), y: phaseY, text: 'forward →', size: 12, bold: true, color: '#1a4f8a' });
  c.text({ x: colX(3), y: phaseY, text: '← backward (gradients, one colour scale)', size: 12, bold: true, color: '#8a1a1a' });
  heads.forEach(([a, b], k) => {
    c.text({ x: colX(k) + Math.floor(tw / 2), y: headY, text: a, size: 11, bold: true, anchor: 'middle', color: '#222222' });
    c.text({ x: colX(k) + Math.floor(tw / 2), y: headY + lineHeight(11), text: b, size: 11, anchor: 'middle', color: '#555555' });
  });
  // Separator between forward and backward.
  fillRect(img, colX(3) - GAP - 1, phaseY, 2, d.channels.length * rowH + (gridY - phaseY), [150, 150, 150]);
  const winners = poolWinners(relu.activations, d.row * C * H * W, relu.outShape, win, pool.outShape);
  const mask = new Float32Array(H * W);
  d.channels.forEach((ch, r) => {
    const ty = gridY + r * rowH;
    c.text({ x: MARGIN + rowLabelW - 8, y: ty + Math.floor(th / 2) - 7, text: `channel ${ch}`, size: 11, anchor: 'end', color: '#333333' });
    const off = (d.row * C + ch) * H * W;
    const poff = (d.row * C + ch) * PH * PW;
    for (let k = 0; k < cols; k++) fillRect(img, colX(k) - 1, ty - 1, tw + 2, th + 2, [150, 150, 150]);
    drawScalarTile(img, colX(0), ty, conv.activations, off, H, W, zoom, 'diverging', d.scales.conv);
    for (let i = 0; i < H * W; i++) mask[i] = relu.activations[off + i] > 0 ? 1 : 0;
    drawBinaryTile(img, colX(1), ty, mask, H, W, zoom);
    for (let i = 0; i < H * W; i++) mask[i] = winners[ch * H * W + i] ? (relu.activations[off + i] > 0 ? 1 : 0.5) : 0;
    drawBinaryTile(img, colX(2), ty, mask, H, W, zoom);
    // Pool-output gradient: drawn at its own (smaller) resolution, zoomed to the same tile size.
    drawScalarTile(img, colX(3) + Math.floor((tw - PW * pzoom) / 2), ty + Math.floor((th - PH * pzoom) / 2), pool.activationGrads, poff, PH, PW, pzoom, 'diverging', d.scales.gradient);
    drawScalarTile(img, colX(4), ty, relu.activationGrads, off, H, W, zoom, 'diverging', d.scales.gradient);
    drawScalarTile(img, colX(5), ty, conv.activationGrads, off, H, W, zoom, 'diverging', d.scales.gradient);
    const pc = d.perChannel[r];
    const under = [
      '',
      `off: ${pctText(pc.reluActivations)}`,
      `winners: ${pctText(d.winnerFraction)}`,
      `zeros: ${pctText(pc.poolOutputGradient)}`,
      `zeros: ${pctText(pc.reluOutputGradient)}`,
      `zeros: ${pctText(pc.convOutputGradient)}`,
    ];
    under.forEach((t, k) => {
      if (t) c.text({ x: colX(k) + Math.floor(tw / 2), y: ty + th + 2, text: t, size: 11, anchor: 'middle', color: '#222222' });
    });
  });
  let ny = gridY + d.channels.length * rowH + 4;
  for (const lines of notes) {
    for (const line of lines) {
      c.text({ x: MARGIN, y: ny, size: 11, color: '#333333', text: line });
      ny += lineHeight(11);
    }
  }
  return c;
}

function drawBinaryTile(img: RawImage, x: number, y: number, v: Float32Array, H: number, W: number, zoom: number): void {
  for (let r = 0; r < H; r++) {
    for (let col = 0; col < W; col++) {
      const t = v[r * W + col];
      fillRect(img, x + col * zoom, y + r * zoom, zoom, zoom, t >= 1 ? [255, 255, 255] : t > 0 ? [130, 130, 130] : [20, 20, 20]);
    }
  }
}
