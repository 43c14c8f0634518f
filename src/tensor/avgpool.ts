/**
 * Average pooling, NCHW, any window / stride / padding per side (geometry as max pooling, see pool2d.ts; no dilation), and
 * global average pooling.
 *
 *   avg:  out[b, c, y, x] = sum of in-bounds in[b, c, iy, ix] in the window / count
 *         count = kH * kW with countIncludePad (padding counts as zeros, PyTorch's default), else the
 *         number of in-bounds positions (a window with none outputs 0 and passes no gradient).
 *   gap:  out[b, c] = mean over all H * W positions of in[b, c, :, :]   (output shape c x 1 x 1)
 * Backward ADDS into inputGrad (+=): each in-bounds input receives outputGrad / count per window.
 */
import type { Pool2dDims } from './pool2d.js';

/** The divisor of output window (oy, ox); 0 when it covers no in-bounds position. */
function windowCount(d: Pool2dDims, y0: number, x0: number, countIncludePad: boolean): number {
  if (countIncludePad) {
    // PyTorch and ONNX: the window clipped to the padded input, padding positions included.
    const yHi = Math.min(y0 + d.kH, d.inH + (d.padBottom ?? d.pad));
    const xHi = Math.min(x0 + d.kW, d.inW + (d.padRight ?? d.pad));
    return (yHi - y0) * (xHi - x0);
  }
  const h = Math.min(y0 + d.kH, d.inH) - Math.max(y0, 0);
  const w = Math.min(x0 + d.kW, d.inW) - Math.max(x0, 0);
  return h > 0 && w > 0 ? h * w : 0;
}

export function avgPool2dForward(d: Pool2dDims, input: Float32Array, output: Float32Array, countIncludePad: boolean): void {
  const { n, c, inH, inW, kH, kW, stride, pad, outH, outW } = d;
  const inPlane = inH * inW;
  let o = 0;
  for (let plane = 0; plane < n * c; plane++) {
    const base = plane * inPlane;
    for (let oy = 0; oy < outH; oy++) {
      const y0 = oy * stride - (d.padTop ?? pad);
      const yLo = Math.max(y0, 0);
      const yHi = Math.min(y0 + kH, inH);
      for (let ox = 0; ox < outW; ox++, o++) {
        const x0 = ox * stride - (d.padLeft ?? pad);
        const xLo = Math.max(x0, 0);
        const xHi = Math.min(x0 + kW, inW);
        const count = windowCount(d, y0, x0, countIncludePad);
        let sum = 0;
        for (let y = yLo; y < yHi; y++) {
          const row = base + y * inW;
          for (let i = row + xLo, end = row + xHi; i < end; i++) sum += input[i];
        }
        output[o] = count > 0 ? sum / count : 0;
      }
    }
  }
}

export function avgPool2dBackward(d: Pool2dDims, outputGrad: Float32Array, inputGrad: Float32Array | null, countIncludePad: boolean): void {
  if (inputGrad === null) return;
  const { n, c, inH, inW, kH, kW, stride, pad, outH, outW } = d;
  const inPlane = inH * inW;
  let o = 0;
  for (let plane = 0; plane < n * c; plane++) {
    const base = plane * inPlane;
    for (let oy = 0; oy < outH; oy++) {
      const y0 = oy * stride - (d.padTop ?? pad);
      const yLo = Math.max(y0, 0);
      const yHi = Math.min(y0 + kH, inH);
      for (let ox = 0; ox < outW; ox++, o++) {
        const x0 = ox * stride - (d.padLeft ?? pad);
        const count = windowCount(d, y0, x0, countIncludePad);
        if (count === 0) continue;
        const g = outputGrad[o] / count;
        const xLo = Math.max(x0, 0);
        const xHi = Math.min(x0 + kW, inW);
        for (let y = yLo; y < yHi; y++) {
          const row = base + y * inW;
          for (let i = row + xLo, end = row + xHi; i < end; i++) inputGrad[i] += g;
        }
      }
    }
  }
}

/** out[p] = mean of input[p * spatial .. (p + 1) * spatial) for planes p = 0 .. planes-1 (planes = n * c). */
export function globalAvgPoolForward(planes: number, spatial: number, input: Float32Array, output: Float32Array): void {
  for (let p = 0; p < planes; p++) {
    let sum = 0;
    for (let i = p * spatial, end = i + spatial; i < end; i++) sum += input[i];
    output[p] = sum / spatial;
  }
}

/** inputGrad[p * spatial + s] += outputGrad[p] / spatial. */
export function globalAvgPoolBackward(planes: number, spatial: number, outputGrad: Float32Array, inputGrad: Float32Array | null): void {
  if (inputGrad === null) return;
  for (let p = 0; p < planes; p++) {
    const g = outputGrad[p] / spatial;
    for (let i = p * spatial, end = i + spatial; i < end; i++) inputGrad[i] += g;
  }
}
