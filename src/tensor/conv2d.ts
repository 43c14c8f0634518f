/**
 * 2-D convolution (really cross-correlation, as in every deep-learning library and ConvNetJS), NCHW,
 * zero padding, any kernel size / stride / channel counts, non-square allowed.
 *
 *   out[b, o, y, x] = bias[o] + sum_{c, ky, kx} w[o, c, ky, kx] * in[b, c, y*stride - pad + ky, x*stride - pad + kx]
 *
 * (input positions outside the image read as 0). Implemented as im2col + sgemm per sample:
 *   col[K = inC*kH*kW, P = outH*outW],   out_b[outC, P] = W[outC, K] * col
 * Backward:
 *   dW[outC, K]  += dY_b[outC, P] * col^T
 *   db[o]        += sum_p dY_b[o, p]
 *   dcol[K, P]    = W^T * dY_b,  dX_b = col2im(dcol)
 * A 1x1 / stride 1 / pad 0 convolution skips im2col (the input already is the col matrix).
 * Grouped convolution (groups > 1: ResNeXt, RegNet; groups = inC: depthwise, MobileNet): output channels
 * of group g read only input channels g*inC/groups .. (g+1)*inC/groups - 1, so weights are
 * [outC, inC/groups, kH, kW] and each group is its own im2col + sgemm over its channel slice.
 * Scratch comes from the Workspace ('conv2d.col', 'conv2d.dcol'), so nothing is allocated after warm-up.
 */
import { sgemm } from './gemm.js';
import type { Workspace } from './workspace.js';

export interface Conv2dDims {
  n: number;
  inC: number;
  inH: number;
  inW: number;
  outC: number;
  kH: number;
  kW: number;
  stride: number;
  pad: number;
  outH: number;
  outW: number;
  /** Channel groups (default 1); inC and outC are multiples of it. */
  groups?: number;
  /**
   * Padding on the top and left when they differ from `pad` (PyTorch's padding=(1, 0), ONNX pads that
   * differ by side); the bottom and right padding only set outH and outW. Default: pad.
   */
  padTop?: number;
  padLeft?: number;
  /** Spacing of the kernel taps (dilated / atrous convolution), default 1: tap k reads offset k * dilation. */
  dilation?: number;
}

/**
 * Output size of a conv or pool along one axis, the one function for both (layers, kernels, ONNX import):
 * floor((in + 2*pad - k) / stride) + 1 (ConvNetJS, PyTorch). ceil: PyTorch's ceil_mode, rounding up
 * instead, except that the last window must start inside the input or its left padding.
 */
export function convOutSize(inSize: number, k: number, stride: number, pad: number, ceil = false, padEnd = pad, dilation = 1): number {
  const span = inSize + pad + padEnd - dilation * (k - 1) - 1;
  let out = (ceil ? Math.ceil(span / stride) : Math.floor(span / stride)) + 1;
  if (ceil && (out - 1) * stride >= inSize + pad) out--;
  return out;
}

/** Build Conv2dDims, computing outH/outW with `convOutSize`. Throws if the output would be empty. */
export function makeConv2dDims(
  n: number,
  inC: number,
  inH: number,
  inW: number,
  outC: number,
  kH: number,
  kW: number,
  stride: number,
  pad: number,
): Conv2dDims {
  const outH = convOutSize(inH, kH, stride, pad);
  const outW = convOutSize(inW, kW, stride, pad);
  if (!(outH >= 1 && outW >= 1 && stride >= 1 && pad >= 0 && kH >= 1 && kW >= 1)) {
    throw new Error(`conv2d: bad geometry ${inH}x${inW} kernel ${kH}x${kW} stride ${stride} pad ${pad}`);
  }
  return { n, inC, inH, inW, outC, kH, kW, stride, pad, outH, outW };
}

/** True when the convolution is a plain per-pixel matrix multiply (no im2col needed). */
function isPointwise(d: Conv2dDims): boolean {
  return d.kH === 1 && d.kW === 1 && d.stride === 1 && d.pad === 0 && (d.padTop ?? 0) === 0 && (d.padLeft ?? 0) === 0 && d.outH === d.inH && d.outW === d.inW;
}

/** First output index o whose input index o*stride - pad + kOff is >= 0, clamped to [0, outSize]. */
function firstValidOut(kOff: number, stride: number, pad: number, outSize: number): number {
  const lo = Math.ceil((pad - kOff) / stride);
  return lo < 0 ? 0 : lo > outSize ? outSize : lo;
}

/** One past the last output index o whose input index o*stride - pad + kOff is < inSize, clamped to [lo, outSize]. */
function endValidOut(kOff: number, stride: number, pad: number, inSize: number, outSize: number, lo: number): number {
  const hi = Math.floor((inSize - 1 + pad - kOff) / stride) + 1;
  return hi < lo ? lo : hi > outSize ? outSize : hi;
}

/**
 * Unfold one sample (input[inOffset ...], inC x inH x inW) into col[K x P]:
 * col[(c*kH + ky)*kW + kx, oy*outW + ox] = in[c, oy*stride - pad + ky, ox*stride - pad + kx] (0 outside).
 */
export function im2col(d: Conv2dDims, input: Float32Array, inOffset: number, col: Float32Array): void {
  const { inC, inH, inW, kH, kW, stride, outH, outW } = d;
  const padT = d.padTop ?? d.pad;
  const padL = d.padLeft ?? d.pad;
  const dil = d.dilation ?? 1;
  const P = outH * outW;
  let row = 0;
  for (let c = 0; c < inC; c++) {
    const plane = inOffset + c * inH * inW;
    for (let ky = 0; ky < kH; ky++) {
      for (let kx = 0; kx < kW; kx++, row += P) {
        const oxLo = firstValidOut(kx * dil, stride, padL, outW);
        const oxHi = endValidOut(kx * dil, stride, padL, inW, outW, oxLo);
        const ixLo = oxLo * stride - padL + kx * dil;
        for (let oy = 0; oy < outH; oy++) {
          const dst = row + oy * outW;
          const iy = oy * stride - padT + ky * dil;
          if (iy < 0 || iy >= inH) {
            col.fill(0, dst, dst + outW);
            continue;
          }
          for (let ox = 0; ox < oxLo; ox++) col[dst + ox] = 0;
          let src = plane + iy * inW + ixLo;
          if (stride === 1) {
            for (let ox = oxLo; ox < oxHi; ox++) col[dst + ox] = input[src++];
          } else {
            for (let ox = oxLo; ox < oxHi; ox++, src += stride) col[dst + ox] = input[src];
          }
          for (let ox = oxHi; ox < outW; ox++) col[dst + ox] = 0;
        }
      }
    }
  }
}

/** Fold col[K x P] back, ADDING each entry into inputGrad[inOffset ...] at the position im2col read it from. */
export function col2imAdd(d: Conv2dDims, col: Float32Array, inputGrad: Float32Array, inOffset: number): void {
  const { inC, inH, inW, kH, kW, stride, outH, outW } = d;
  const padT = d.padTop ?? d.pad;
  const padL = d.padLeft ?? d.pad;
  const dil = d.dilation ?? 1;
  const P = outH * outW;
  let row = 0;
  for (let c = 0; c < inC; c++) {
    const plane = inOffset + c * inH * inW;
    for (let ky = 0; ky < kH; ky++) {
      for (let kx = 0; kx < kW; kx++, row += P) {
        const oxLo = firstValidOut(kx * dil, stride, padL, outW);
        const oxHi = endValidOut(kx * dil, stride, padL, inW, outW, oxLo);
        const ixLo = oxLo * stride - padL + kx * dil;
        for (let oy = 0; oy < outH; oy++) {
          const iy = oy * stride - padT + ky * dil;
          if (iy < 0 || iy >= inH) continue;
          const src = row + oy * outW;
          let dst = plane + iy * inW + ixLo;
          if (stride === 1) {
            for (let ox = oxLo; ox < oxHi; ox++) inputGrad[dst++] += col[src + ox];
          } else {
            for (let ox = oxLo; ox < oxHi; ox++, dst += stride) inputGrad[dst] += col[src + ox];
          }
        }
      }
    }
  }
}

/** output[n, outC, outH, outW] = conv(input[n, inC, inH, inW], weights[outC, inC, kH, kW]) + bias[outC]. */
export function conv2dForward(
  d: Conv2dDims,
  input: Float32Array,
  weights: Float32Array,
  bias: Float32Array,
  output: Float32Array,
  ws: Workspace,
): void {
  const { n, inC, inH, inW, outC, outH, outW } = d;
  const groups = d.groups ?? 1;
  const P = outH * outW;
  const gd = groupDims(d);
  const K = gd.inC * d.kH * d.kW;
  const ocg = gd.outC;
  const planeIn = inH * inW;
  const inSize = inC * planeIn;
  const outSize = outC * P;
  const pointwise = isPointwise(d);
  const col = pointwise ? input : ws.get('conv2d.col', K * P);
  for (let b = 0; b < n; b++) {
    const outOff = b * outSize;
    // Broadcast the bias, then accumulate W * col on top of it (beta = 1).
    for (let o = 0; o < outC; o++) output.fill(bias[o], outOff + o * P, outOff + (o + 1) * P);
    for (let g = 0; g < groups; g++) {
      const inOff = b * inSize + g * gd.inC * planeIn;
      let colOff = 0;
      if (pointwise) colOff = inOff;
      else im2col(gd, input, inOff, col);
      sgemm(false, false, ocg, P, K, 1, weights, g * ocg * K, K, col, colOff, P, 1, output, outOff + g * ocg * P, P);
    }
  }
}

/** The dims of one group: its slice of the input and output channels. */
export function groupDims(d: Conv2dDims): Conv2dDims {
  const groups = d.groups ?? 1;
  return groups === 1 ? d : { ...d, inC: d.inC / groups, outC: d.outC / groups, groups: 1 };
}

/**
 * Gradients of conv2dForward given outputGrad (dL/d output):
 * weightGrad[outC, inC, kH, kW] += dL/dW, biasGrad[outC] += dL/db (ACCUMULATED),
 * inputGrad[n, inC, inH, inW] += dL/d input (ACCUMULATED); pass null to skip it (first layer).
 */
export function conv2dBackward(
  d: Conv2dDims,
  input: Float32Array,
  weights: Float32Array,
  outputGrad: Float32Array,
  inputGrad: Float32Array | null,
  weightGrad: Float32Array,
  biasGrad: Float32Array,
  ws: Workspace,
): void {
  const { n, inC, inH, inW, outC, outH, outW } = d;
  const groups = d.groups ?? 1;
  const P = outH * outW;
  const gd = groupDims(d);
  const K = gd.inC * d.kH * d.kW;
  const ocg = gd.outC;
  const planeIn = inH * inW;
  const inSize = inC * planeIn;
  const outSize = outC * P;
  const pointwise = isPointwise(d);
  const col = pointwise ? input : ws.get('conv2d.col', K * P);
  const dcol = inputGrad !== null && !pointwise ? ws.get('conv2d.dcol', K * P) : null;
  for (let b = 0; b < n; b++) {
    const gOff = b * outSize;
    for (let o = 0; o < outC; o++) {
      let sum = 0;
      for (let p = gOff + o * P, end = p + P; p < end; p++) sum += outputGrad[p];
      biasGrad[o] += sum;
    }
    for (let g = 0; g < groups; g++) {
      const inOff = b * inSize + g * gd.inC * planeIn;
      const dyOff = gOff + g * ocg * P;
      const wOff = g * ocg * K;
      let colOff = 0;
      if (pointwise) colOff = inOff;
      else im2col(gd, input, inOff, col);
      sgemm(false, true, ocg, K, P, 1, outputGrad, dyOff, P, col, colOff, P, 1, weightGrad, wOff, K);
      if (inputGrad === null) continue;
      if (dcol === null) {
        // Pointwise: dX_b[inC, P] = W^T * dY_b directly.
        sgemm(true, false, K, P, ocg, 1, weights, wOff, K, outputGrad, dyOff, P, 1, inputGrad, inOff, P);
      } else {
        sgemm(true, false, K, P, ocg, 1, weights, wOff, K, outputGrad, dyOff, P, 0, dcol, 0, P);
        col2imAdd(gd, dcol, inputGrad, inOff);
      }
    }
  }
}

/**
 * Run im2col / col2imAdd once through each branch (stride 1 and 2, padding on every side, rows fully in
 * the padding) on a tiny image when the module loads, so V8 optimises them with complete type feedback
 * instead of deoptimising on the first layer with a different geometry (see primeTypeFeedback in gemm.ts).
 */
function primeTypeFeedback(): void {
  const input = new Float32Array(2 * 3 * 3);
  for (const stride of [1, 2]) {
    const d = makeConv2dDims(1, 2, 3, 3, 1, 3, 3, stride, 2);
    const col = new Float32Array(d.inC * d.kH * d.kW * d.outH * d.outW);
    im2col(d, input, 0, col);
    col2imAdd(d, col, new Float32Array(input.length), 0);
  }
}
primeTypeFeedback();

