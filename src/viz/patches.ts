/**
 * What each channel responds to: for every conv, ReLU and pool channel, the image patches (the
 * channel's receptive field, cropped from the input image) of the K test images that excite it most,
 * as Zeiler & Fergus (2014) and the Deep Visualization Toolbox show them.
 *
 * Rule (tests check it): for channel c of layer L, each image's score is its largest activation of c
 * over all positions (the first such position in row-major order); the K images with the highest
 * scores are kept (ties: the lower subset position first), one patch per image, cropped around the
 * position that scored. Pure functions here; the forward pass over the test subset is in
 * src/train/patch-pass.ts.
 */
import { Canvas, lineHeight, wrapText, type TextEngine } from './canvas.js';
import { fillRect, type RawImage } from './grid.js';
import { formatNumber } from './scale.js';

export const TOP_PATCHES = 9;

/** Output position (y, x) of a layer sees image rows [y*jump - offset, ... + size) (the same for columns). */
export interface ReceptiveField {
  sizeH: number;
  sizeW: number;
  jump: number;
  offsetH: number;
  offsetW: number;
}

export interface PatchLayerInfo {
  /**
   * The layer type's `positions` hint (src/nn/layers/layer.ts LayerHints): 'same' keeps positions and
   * the receptive field, 'window' slides `window`; absent: positions are lost from here on.
   */
  positions?: 'same' | 'window';
  /** Indices of the layers it reads (default: the previous one). */
  inputs?: readonly number[];
  outShape: readonly [number, number, number];
  window?: { kernelH: number; kernelW: number; stride: number; pad: number };
}

/**
 * Receptive field of every layer of a network whose layer 0 is the image (topological order);
 * undefined once it is not spatial. A layer with several inputs (add, concat) sees the union of its
 * inputs' fields (they must share the stride from the image, `jump`; else undefined).
 */
export function receptiveFields(layers: readonly PatchLayerInfo[]): (ReceptiveField | undefined)[] {
  const out: (ReceptiveField | undefined)[] = [];
  layers.forEach((l, i) => {
    if (i === 0) {
      out.push({ sizeH: 1, sizeW: 1, jump: 1, offsetH: 0, offsetW: 0 });
      return;
    }
    const ins = (l.inputs ?? [i - 1]).map((k) => out[k]);
    let rf: ReceptiveField | undefined = unionField(ins);
    if (!rf) {
      out.push(undefined);
      return;
    }
    if (l.positions === 'window' && l.window) {
      const w = l.window;
      rf = {
        sizeH: rf.sizeH + (w.kernelH - 1) * rf.jump,
        sizeW: rf.sizeW + (w.kernelW - 1) * rf.jump,
        offsetH: rf.offsetH + w.pad * rf.jump,
        offsetW: rf.offsetW + w.pad * rf.jump,
        jump: rf.jump * w.stride,
      };
    } else if (l.positions !== 'same') {
      rf = undefined;
    }
    out.push(rf);
  });
  return out;
}

/** The union of receptive fields with one jump: rows [y*jump - offset, + size) of each, combined. */
function unionField(fields: readonly (ReceptiveField | undefined)[]): ReceptiveField | undefined {
  const first = fields[0];
  if (!first || fields.some((f) => !f || f.jump !== first.jump)) return undefined;
  const fs = fields as ReceptiveField[];
  const offsetH = Math.max(...fs.map((f) => f.offsetH));
  const offsetW = Math.max(...fs.map((f) => f.offsetW));
  return {
    jump: first.jump, offsetH, offsetW,
    sizeH: Math.max(...fs.map((f) => offsetH - f.offsetH + f.sizeH)),
    sizeW: Math.max(...fs.map((f) => offsetW - f.offsetW + f.sizeW)),
  };
}

/** One top patch: which subset image, its score, and the output position that scored. */
export interface TopPatch {
  /** Position in the patch subset (0-based). */
  image: number;
  /** Index in the test split. */
  testIndex: number;
  value: number;
  y: number;
  x: number;
}

/** The K best (image, value) per channel, kept sorted (value descending, then image ascending). */
export class ChannelTopK {
  readonly top: TopPatch[][];
  constructor(
    readonly channels: number,
    readonly k: number = TOP_PATCHES,
  ) {
    this.top = Array.from({ length: channels }, () => []);
  }

  offer(channel: number, p: TopPatch): void {
    const list = this.top[channel];
    if (list.length === this.k) {
      const last = list[list.length - 1];
      if (!(p.value > last.value || (p.value === last.value && p.image < last.image))) return;
      list.pop();
    }
    let i = list.length;
    while (i > 0 && (list[i - 1].value < p.value || (list[i - 1].value === p.value && list[i - 1].image > p.image))) i--;
    list.splice(i, 0, p);
  }

  /**
   * Offers every image of a batch of activations (n, C, H, W) starting at subset position `first`:
   * each image's score per channel is its maximum over positions (first in row-major order).
   */
  offerBatch(acts: Float32Array, n: number, shape: readonly [number, number, number], first: number, testIndices: readonly number[]): void {
    const [C, H, W] = shape;
    const plane = H * W;
    for (let b = 0; b < n; b++) {
      for (let c = 0; c < C; c++) {
        const base = (b * C + c) * plane;
        let best = -Infinity;
        let at = 0;
        for (let i = 0; i < plane; i++) {
          const v = acts[base + i];
          if (v > best) {
            best = v;
            at = i;
          }
        }
        if (best === -Infinity) continue;
        this.offer(c, { image: first + b, testIndex: testIndices[first + b] ?? -1, value: best, y: Math.floor(at / W), x: at % W });
      }
    }
  }
}

/** What one layer's top-patch picture shows (also its JSON). */
export interface LayerTopPatches {
  layer: number;
  /** Explanation key (layer kind). */
  kind: string;
  rf: ReceptiveField;
  channels: TopPatch[][];
}

/** A subset pass's patches, as writeEpochViz takes them. */
export interface PatchSet {
  /** Test indices of the subset, in order (TopPatch.image indexes this). */
  testIndices: number[];
  /** Raw subset images (S x 3 x H x W bytes). */
  images: Uint8Array;
  imageShape: [number, number, number];
  patches: LayerTopPatches[];
}

/** The image window [y0, y0 + sizeH) x [x0, x0 + sizeW) of a patch (may hang over the border). */
export function patchWindow(rf: ReceptiveField, p: Pick<TopPatch, 'y' | 'x'>): { y0: number; x0: number } {
  return { y0: p.y * rf.jump - rf.offsetH, x0: p.x * rf.jump - rf.offsetW };
}

const OUTSIDE_RGB: readonly [number, number, number] = [200, 200, 200];

/**
 * Draws one layer's top patches: a row per channel, K patches per row (best first), each the
 * channel's receptive field cropped from the image (grey where it hangs over the border), zoomed.
 * `images`: the subset's raw images (S x 3 x imgH x imgW bytes).
 */
export function composeTopPatches(
  t: LayerTopPatches, images: Uint8Array, imgShape: readonly [number, number, number], subsetSize: number, epoch: number, engine: TextEngine, description = '',
): Canvas {
  const [, IH, IW] = imgShape;
  const { rf } = t;
  const side = Math.max(rf.sizeH, rf.sizeW);
  // Patches about 56 px, so that a first-layer row (9 patches) fits beside the filters in the report.
  const zoom = Math.max(1, Math.min(11, Math.round(56 / side)));
  const pw = rf.sizeW * zoom;
  const ph = rf.sizeH * zoom;
  const gap = 4;
  const margin = 10;
  const rowLabelW = 76;
  const K = Math.max(1, ...t.channels.map((c) => c.length));
  const width = Math.max(520, margin * 2 + rowLabelW + K * (pw + gap));
  const textW = width - 2 * margin;
  const captions = [
    `Layer ${t.layer} · epoch ${epoch} · what each channel responds to`,
    `${description || t.kind}. Each row is one channel; the ${K} patches are the parts of the ${K} test images (of a fixed set of ${subsetSize}) that excite it most, best first. ` +
      `A patch is the channel's receptive field: the ${rf.sizeW}x${rf.sizeH} image pixels that one of its output values depends on (grey = outside the image).`,
  ];
  const lines = captions.map((c, i) => wrapText(c, i === 0 ? 14 : 12, textW, engine, i === 0));
  let y = margin;
  for (let i = 0; i < lines.length; i++) y += lines[i].length * lineHeight(i === 0 ? 14 : 12);
  const gridY = y + 8;
  const rowH = ph + gap + lineHeight(11);
  const height = gridY + t.channels.length * rowH + margin;
  const c = new Canvas(width, height);
  const img: RawImage = { data: c.data, width, height };
  y = margin;
  lines.forEach((ls, i) => {
    for (const line of ls) {
      c.text({ x: margin, y, text: line, size: i === 0 ? 14 : 12, bold: i === 0, color: i === 0 ? '#111111' : '#333333' });
      y += lineHeight(i === 0 ? 14 : 12);
    }
  });
  const plane = IH * IW;
  // A grey image (1 channel) is drawn with its one plane as red, green and blue.
  const IC = imgShape[0];
  const cp = IC === 1 ? 0 : plane;
  t.channels.forEach((list, ch) => {
    const ty = gridY + ch * rowH;
    c.text({ x: margin + rowLabelW - 8, y: ty + Math.floor(ph / 2) - 7, text: `channel ${ch}`, size: 11, anchor: 'end', color: '#333333' });
    list.forEach((p, k) => {
      const x0 = margin + rowLabelW + k * (pw + gap);
      const w = patchWindow(rf, p);
      const base = p.image * IC * plane;
      for (let r = 0; r < rf.sizeH; r++) {
        for (let q = 0; q < rf.sizeW; q++) {
          const iy = w.y0 + r;
          const ix = w.x0 + q;
          const inside = iy >= 0 && iy < IH && ix >= 0 && ix < IW && base + 2 * cp + iy * IW + ix < images.length;
          const rgb: readonly [number, number, number] = inside
            ? [images[base + iy * IW + ix], images[base + cp + iy * IW + ix], images[base + 2 * cp + iy * IW + ix]]
            : OUTSIDE_RGB;
          fillRect(img, x0 + q * zoom, ty + r * zoom, zoom, zoom, rgb);
        }
      }
      c.text({ x: x0 + Math.floor(pw / 2), y: ty + ph + 1, text: formatNumber(p.value), size: 11, anchor: 'middle', color: '#555555' });
    });
  });
  return c;
}
