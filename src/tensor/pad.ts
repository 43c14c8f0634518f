/**
 * Reflect and replicate padding of image planes (PyTorch's padding_mode 'reflect' and 'replicate', ONNX
 * Pad modes reflect and edge), NCHW: each of `planes` H x W planes becomes (top + H + bottom) x
 * (left + W + right). A padded position reads the input at
 *   reflect:   -i for i < 0, 2 (H - 1) - i for i >= H (the edge pixel itself is not repeated; pads < H)
 *   replicate: the nearest edge pixel
 * Backward ADDS each padded position's gradient into the input position it read.
 */
export type PadMode = 'reflect' | 'replicate';

/** Per side [top, left, bottom, right]. */
export type Pads = readonly [number, number, number, number];

/** The input index a padded index i (in -pad .. size + pad) reads. */
export function padSource(i: number, size: number, mode: PadMode): number {
  if (i >= 0 && i < size) return i;
  if (mode === 'replicate') return i < 0 ? 0 : size - 1;
  return i < 0 ? -i : 2 * (size - 1) - i;
}

/** Row/column maps: padded index -> input index. */
function maps(h: number, w: number, p: Pads, mode: PadMode): [Int32Array, Int32Array] {
  const rows = Int32Array.from({ length: p[0] + h + p[2] }, (_, y) => padSource(y - p[0], h, mode));
  const cols = Int32Array.from({ length: p[1] + w + p[3] }, (_, x) => padSource(x - p[1], w, mode));
  return [rows, cols];
}

export function padPlanesForward(planes: number, h: number, w: number, p: Pads, mode: PadMode, input: Float32Array, output: Float32Array): void {
  const [rows, cols] = maps(h, w, p, mode);
  const pw = cols.length;
  let o = 0;
  for (let plane = 0; plane < planes; plane++) {
    const base = plane * h * w;
    for (let y = 0; y < rows.length; y++) {
      const row = base + rows[y] * w;
      for (let x = 0; x < pw; x++) output[o++] = input[row + cols[x]];
    }
  }
}

/** inputGrad += the padded gradient folded back onto the positions each padded value read. */
export function padPlanesBackward(planes: number, h: number, w: number, p: Pads, mode: PadMode, paddedGrad: Float32Array, inputGrad: Float32Array): void {
  const [rows, cols] = maps(h, w, p, mode);
  const pw = cols.length;
  let o = 0;
  for (let plane = 0; plane < planes; plane++) {
    const base = plane * h * w;
    for (let y = 0; y < rows.length; y++) {
      const row = base + rows[y] * w;
      for (let x = 0; x < pw; x++) inputGrad[row + cols[x]] += paddedGrad[o++];
    }
  }
}
