/**
 * Slow, obviously-correct float64 reference forwards of every kernel, written straight from the
 * definitions with naive nested loops (no im2col, no blocking, no clever indexing). They accept any
 * array of numbers (Float32Array inputs are read exactly) and return fresh Float64Arrays.
 * Used for finite-difference gradient checks and to test fast (JS now, WebAssembly later) kernels.
 * Not for production: they allocate and are O(naive).
 */
import type { Conv2dDims } from '../../src/tensor/conv2d.js';
import type { LrnDims } from '../../src/tensor/lrn.js';
import type { Pool2dDims } from '../../src/tensor/pool2d.js';

type Numbers = ArrayLike<number>;

/** out[b,o,y,x] = bias[o] + sum_{c,ky,kx} w[o,c,ky,kx] * in[b,c,y*s-p+ky,x*s-p+kx] (zero outside). */
export function refConv2dForward(d: Conv2dDims, input: Numbers, weights: Numbers, bias: Numbers): Float64Array {
  const { n, inC, inH, inW, outC, kH, kW, stride, pad, outH, outW } = d;
  // Grouped: output channel o reads the icg input channels of its group; weights [outC, icg, kH, kW].
  const groups = d.groups ?? 1;
  const icg = inC / groups;
  const ocg = outC / groups;
  const out = new Float64Array(n * outC * outH * outW);
  for (let b = 0; b < n; b++) {
    for (let o = 0; o < outC; o++) {
      const c0 = Math.floor(o / ocg) * icg;
      for (let y = 0; y < outH; y++) {
        for (let x = 0; x < outW; x++) {
          let sum = bias[o];
          for (let ci = 0; ci < icg; ci++) {
            const c = c0 + ci;
            for (let ky = 0; ky < kH; ky++) {
              for (let kx = 0; kx < kW; kx++) {
                const iy = y * stride - (d.padTop ?? pad) + ky * (d.dilation ?? 1);
                const ix = x * stride - (d.padLeft ?? pad) + kx * (d.dilation ?? 1);
                if (iy < 0 || iy >= inH || ix < 0 || ix >= inW) continue;
                sum += weights[((o * icg + ci) * kH + ky) * kW + kx] * input[((b * inC + c) * inH + iy) * inW + ix];
              }
            }
          }
          out[((b * outC + o) * outH + y) * outW + x] = sum;
        }
      }
    }
  }
  return out;
}

/** Max over the in-bounds part of each (dilated) window (padding never competes); 0 for a window with none. */
export function refMaxPool2dForward(d: Pool2dDims, input: Numbers): Float64Array {
  const { n, c: C, inH, inW, kH, kW, stride, pad, outH, outW } = d;
  const top = d.padTop ?? pad;
  const left = d.padLeft ?? pad;
  const dil = d.dilation ?? 1;
  const out = new Float64Array(n * C * outH * outW);
  for (let b = 0; b < n; b++) {
    for (let c = 0; c < C; c++) {
      for (let y = 0; y < outH; y++) {
        for (let x = 0; x < outW; x++) {
          let best = -Infinity;
          for (let ky = 0; ky < kH; ky++) {
            for (let kx = 0; kx < kW; kx++) {
              const iy = y * stride - top + ky * dil;
              const ix = x * stride - left + kx * dil;
              if (iy < 0 || iy >= inH || ix < 0 || ix >= inW) continue;
              best = Math.max(best, input[((b * C + c) * inH + iy) * inW + ix]);
            }
          }
          out[((b * C + c) * outH + y) * outW + x] = best === -Infinity ? 0 : best;
        }
      }
    }
  }
  return out;
}

/** out[b,o] = bias[o] + sum_i w[o,i] * in[b,i]. */
export function refDenseForward(
  n: number,
  inF: number,
  outF: number,
  input: Numbers,
  weights: Numbers,
  bias: Numbers,
): Float64Array {
  const out = new Float64Array(n * outF);
  for (let b = 0; b < n; b++) {
    for (let o = 0; o < outF; o++) {
      let sum = bias[o];
      for (let i = 0; i < inF; i++) sum += weights[o * inF + i] * input[b * inF + i];
      out[b * outF + o] = sum;
    }
  }
  return out;
}

function map(input: Numbers, f: (x: number) => number): Float64Array {
  const out = new Float64Array(input.length);
  for (let i = 0; i < input.length; i++) out[i] = f(input[i]);
  return out;
}

export function refRelu(input: Numbers): Float64Array {
  return map(input, (x) => Math.max(0, x));
}

export function refLeakyRelu(input: Numbers, alpha: number): Float64Array {
  return map(input, (x) => (x > 0 ? x : alpha * x));
}

export function refSigmoid(input: Numbers): Float64Array {
  return map(input, (x) => 1 / (1 + Math.exp(-x)));
}

export function refTanh(input: Numbers): Float64Array {
  return map(input, (x) => Math.tanh(x));
}

/** out[b,i,p] = max_{j < g} in[b, i*g + j, p], i < floor(inC / g). */
export function refMaxoutForward(n: number, inC: number, spatial: number, groupSize: number, input: Numbers): Float64Array {
  const outC = Math.floor(inC / groupSize);
  const out = new Float64Array(n * outC * spatial);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < outC; i++) {
      for (let p = 0; p < spatial; p++) {
        let best = -Infinity;
        for (let j = 0; j < groupSize; j++) best = Math.max(best, input[(b * inC + i * groupSize + j) * spatial + p]);
        out[(b * outC + i) * spatial + p] = best;
      }
    }
  }
  return out;
}

/** Inverted dropout with a given mask: training ? in * keep / (1 - p) : in. */
export function refDropoutForward(input: Numbers, keep: ArrayLike<number>, dropProb: number, training: boolean): Float64Array {
  const out = new Float64Array(input.length);
  for (let i = 0; i < input.length; i++) {
    if (!training) out[i] = input[i];
    else out[i] = keep[i] !== 0 ? input[i] / (1 - dropProb) : 0;
  }
  return out;
}

/** out_i = a_i / (k + alpha/size * sum_{j=max(0,i-n2)}^{min(C-1,i+n2)} a_j^2)^beta at each (b, y, x), n2 = floor(size/2). */
export function refLrnForward(d: LrnDims, input: Numbers): Float64Array {
  const { n, c: C, h, w, size, k, alpha, beta } = d;
  const n2 = Math.floor(size / 2);
  const out = new Float64Array(n * C * h * w);
  const at = (b: number, c: number, y: number, x: number): number => ((b * C + c) * h + y) * w + x;
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        for (let i = 0; i < C; i++) {
          let sum = 0;
          for (let j = Math.max(0, i - n2); j <= Math.min(C - 1, i + n2); j++) sum += input[at(b, j, y, x)] ** 2;
          out[at(b, i, y, x)] = input[at(b, i, y, x)] / Math.pow(k + (alpha / size) * sum, beta);
        }
      }
    }
  }
  return out;
}

/** Row-wise softmax. */
export function refSoftmax(n: number, classes: number, logits: Numbers): Float64Array {
  const out = new Float64Array(n * classes);
  for (let b = 0; b < n; b++) {
    let max = -Infinity;
    for (let i = 0; i < classes; i++) max = Math.max(max, logits[b * classes + i]);
    let sum = 0;
    for (let i = 0; i < classes; i++) sum += Math.exp(logits[b * classes + i] - max);
    for (let i = 0; i < classes; i++) out[b * classes + i] = Math.exp(logits[b * classes + i] - max) / sum;
  }
  return out;
}

/** sum_b -log softmax(logits_b)[y_b] = sum_b (logsumexp(logits_b) - logits_b[y_b]). */
export function refSoftmaxCrossEntropy(n: number, classes: number, logits: Numbers, labels: ArrayLike<number>): number {
  let loss = 0;
  for (let b = 0; b < n; b++) {
    let max = -Infinity;
    for (let i = 0; i < classes; i++) max = Math.max(max, logits[b * classes + i]);
    let sum = 0;
    for (let i = 0; i < classes; i++) sum += Math.exp(logits[b * classes + i] - max);
    loss += max + Math.log(sum) - logits[b * classes + labels[b]];
  }
  return loss;
}

/** sum_b sum_{i != y_b} max(0, s_i - s_y + 1). */
export function refSvmLoss(n: number, classes: number, scores: Numbers, labels: ArrayLike<number>): number {
  let loss = 0;
  for (let b = 0; b < n; b++) {
    const y = labels[b];
    for (let i = 0; i < classes; i++) {
      if (i !== y) loss += Math.max(0, scores[b * classes + i] - scores[b * classes + y] + 1);
    }
  }
  return loss;
}

/** sum 0.5 * (x - t)^2. */
export function refL2RegressionLoss(n: number, dims: number, outputs: Numbers, targets: Numbers): number {
  let loss = 0;
  for (let i = 0; i < n * dims; i++) loss += 0.5 * (outputs[i] - targets[i]) ** 2;
  return loss;
}

/**
 * Batch norm straight from the definition: per channel c, the m = n*spatial values x[b, c, s];
 * training: normalise with their mean and biased variance; evaluation: with runningMean / runningVar.
 */
export function refBatchNormForward(
  d: { n: number; c: number; spatial: number },
  input: Numbers,
  gamma: Numbers | null,
  beta: Numbers | null,
  eps: number,
  running: { mean: Numbers; variance: Numbers } | null,
): Float64Array {
  const { n, c: C, spatial } = d;
  const out = new Float64Array(n * C * spatial);
  const at = (b: number, c: number, s: number) => (b * C + c) * spatial + s;
  for (let c = 0; c < C; c++) {
    let mean: number;
    let variance: number;
    if (running) {
      mean = running.mean[c];
      variance = running.variance[c];
    } else {
      let sum = 0;
      for (let b = 0; b < n; b++) for (let s = 0; s < spatial; s++) sum += input[at(b, c, s)];
      mean = sum / (n * spatial);
      let sq = 0;
      for (let b = 0; b < n; b++) for (let s = 0; s < spatial; s++) sq += (input[at(b, c, s)] - mean) ** 2;
      variance = sq / (n * spatial);
    }
    for (let b = 0; b < n; b++) {
      for (let s = 0; s < spatial; s++) {
        const xhat = (input[at(b, c, s)] - mean) / Math.sqrt(variance + eps);
        out[at(b, c, s)] = (gamma ? gamma[c] : 1) * xhat + (beta ? beta[c] : 0);
      }
    }
  }
  return out;
}

/** Average of each window: in-bounds values / (kH*kW with countIncludePad, else the in-bounds count). */
export function refAvgPool2dForward(d: Pool2dDims, input: Numbers, countIncludePad: boolean): Float64Array {
  const { n, c: C, inH, inW, kH, kW, stride, pad, outH, outW } = d;
  const [top, left, bottom, right] = [d.padTop ?? pad, d.padLeft ?? pad, d.padBottom ?? pad, d.padRight ?? pad];
  const out = new Float64Array(n * C * outH * outW);
  for (let b = 0; b < n; b++) {
    for (let c = 0; c < C; c++) {
      for (let y = 0; y < outH; y++) {
        for (let x = 0; x < outW; x++) {
          let sum = 0;
          let inBounds = 0;
          let padded = 0;
          for (let ky = 0; ky < kH; ky++) {
            for (let kx = 0; kx < kW; kx++) {
              const iy = y * stride - top + ky;
              const ix = x * stride - left + kx;
              // PyTorch counts padding positions, but not window positions beyond the padding.
              if (iy < inH + bottom && ix < inW + right) padded++;
              if (iy < 0 || iy >= inH || ix < 0 || ix >= inW) continue;
              sum += input[((b * C + c) * inH + iy) * inW + ix];
              inBounds++;
            }
          }
          const count = countIncludePad ? padded : inBounds;
          out[((b * C + c) * outH + y) * outW + x] = count > 0 ? sum / count : 0;
        }
      }
    }
  }
  return out;
}
