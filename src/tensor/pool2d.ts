/**
 * Max pooling, NCHW, any window / stride / padding (per side) / dilation, with ConvNetJS padding semantics: the window may hang
 * over the border, but only in-bounds positions compete (padding is never the max, so an all-negative
 * window at the border yields its largest negative value, not 0).
 *
 *   out[b, c, y, x] = max over in-bounds (iy, ix) = (y*stride - padTop + ky*dilation, x*stride - padLeft + kx*dilation),
 *                     0 <= ky < kH, 0 <= kx < kW, of in[b, c, iy, ix]
 *
 * Forward records in `argmax` the FLAT index into the whole input array of the winner (first maximum in
 * row-major window order on ties). A window with no in-bounds position (only possible when pad >= kernel
 * size) outputs 0 with argmax -1 and passes no gradient.
 * Backward: inputGrad = 0, then inputGrad[argmax[o]] += outputGrad[o] (OVERWRITES inputGrad).
 */
import { convOutSize } from './conv2d.js';

export interface Pool2dDims {
  n: number;
  c: number;
  inH: number;
  inW: number;
  kH: number;
  kW: number;
  stride: number;
  pad: number;
  outH: number;
  outW: number;
  /** Padding per side when they differ (each defaults to pad; bottom and right only bound avg's padded count). */
  padTop?: number;
  padLeft?: number;
  padBottom?: number;
  padRight?: number;
  /** Max pool: spacing of the window's taps (PyTorch's MaxPool2d dilation); default 1. */
  dilation?: number;
}

/** Build Pool2dDims, computing outH/outW with `convOutSize`. Throws if the output would be empty. */
export function makePool2dDims(
  n: number,
  c: number,
  inH: number,
  inW: number,
  kH: number,
  kW: number,
  stride: number,
  pad: number,
): Pool2dDims {
  const outH = convOutSize(inH, kH, stride, pad);
  const outW = convOutSize(inW, kW, stride, pad);
  if (!(outH >= 1 && outW >= 1 && stride >= 1 && pad >= 0 && kH >= 1 && kW >= 1)) {
    throw new Error(`pool2d: bad geometry ${inH}x${inW} window ${kH}x${kW} stride ${stride} pad ${pad}`);
  }
  return { n, c, inH, inW, kH, kW, stride, pad, outH, outW };
}

/** output[n, c, outH, outW] = max pool of input[n, c, inH, inW]; argmax[same shape as output] = flat input index. */
export function maxPool2dForward(d: Pool2dDims, input: Float32Array, output: Float32Array, argmax: Int32Array): void {
  const { n, c, inH, inW, kH, kW, stride, pad, outH, outW } = d;
  const top = d.padTop ?? pad;
  const left = d.padLeft ?? pad;
  const dil = d.dilation ?? 1;
  const planes = n * c;
  const inPlane = inH * inW;
  // Taps k of a window starting at p0 that land inside [0, size): kLo <= k < kHi.
  const tapLo = (p0: number) => (p0 < 0 ? Math.ceil(-p0 / dil) : 0);
  const tapHi = (p0: number, k: number, size: number) => Math.min(k, Math.floor((size - 1 - p0) / dil) + 1);
  let o = 0;
  for (let plane = 0; plane < planes; plane++) {
    const base = plane * inPlane;
    for (let oy = 0; oy < outH; oy++) {
      const y0 = oy * stride - top;
      const kyLo = tapLo(y0);
      const kyHi = tapHi(y0, kH, inH);
      for (let ox = 0; ox < outW; ox++, o++) {
        const x0 = ox * stride - left;
        const kxLo = tapLo(x0);
        const kxHi = tapHi(x0, kW, inW);
        let best = -Infinity;
        let bestIdx = -1;
        for (let ky = kyLo; ky < kyHi; ky++) {
          const row = base + (y0 + ky * dil) * inW + x0;
          for (let kx = kxLo; kx < kxHi; kx++) {
            const i = row + kx * dil;
            const v = input[i];
            if (v > best) {
              best = v;
              bestIdx = i;
            }
          }
        }
        if (bestIdx < 0) best = 0;
        output[o] = best;
        argmax[o] = bestIdx;
      }
    }
  }
}

/** inputGrad[n, c, inH, inW] += scatter of outputGrad through argmax (ACCUMULATED). null: nothing to do. */
export function maxPool2dBackward(
  d: Pool2dDims,
  outputGrad: Float32Array,
  argmax: Int32Array,
  inputGrad: Float32Array | null,
): void {
  if (inputGrad === null) return;
  const count = d.n * d.c * d.outH * d.outW;
  for (let o = 0; o < count; o++) {
    const i = argmax[o];
    if (i >= 0) inputGrad[i] += outputGrad[o];
  }
}
