/**
 * Joins of several inputs: element-wise sum (residual connections) and concatenation along channels.
 *
 *   add:     out[i] = sum over inputs k of in_k[i]            (all inputs the same shape, `count` floats)
 *   concat:  out[b] = [in_0[b]; in_1[b]; ...]                 (per sample, input k holding sizes[k] floats:
 *            channels x H x W with the same H and W, so joining the flat samples joins the channels)
 * Backward ADDS into each input gradient (+=); a null entry skips that input.
 */

/** out = sum of inputs (first `count` floats of each). */
export function addForward(count: number, inputs: readonly Float32Array[], output: Float32Array): void {
  const first = inputs[0];
  if (inputs.length === 2) {
    const second = inputs[1];
    for (let i = 0; i < count; i++) output[i] = first[i] + second[i];
    return;
  }
  for (let i = 0; i < count; i++) output[i] = first[i];
  for (let k = 1; k < inputs.length; k++) {
    const a = inputs[k];
    for (let i = 0; i < count; i++) output[i] += a[i];
  }
}

/** inputGrads[k] += outputGrad for every input (the sum passes its gradient unchanged to each term). */
export function addBackward(count: number, outputGrad: Float32Array, inputGrads: readonly (Float32Array | null)[]): void {
  for (const g of inputGrads) {
    if (g === null) continue;
    for (let i = 0; i < count; i++) g[i] += outputGrad[i];
  }
}

/** Per sample, copy input k's sizes[k] floats one after another into the output. */
export function concatForward(n: number, sizes: readonly number[], inputs: readonly Float32Array[], output: Float32Array): void {
  const total = sizes.reduce((a, b) => a + b, 0);
  for (let b = 0; b < n; b++) {
    let off = b * total;
    for (let k = 0; k < inputs.length; k++) {
      const size = sizes[k];
      output.set(inputs[k].subarray(b * size, (b + 1) * size), off);
      off += size;
    }
  }
}

/** inputGrads[k][b] += the slice of outputGrad[b] that input k filled. */
export function concatBackward(n: number, sizes: readonly number[], outputGrad: Float32Array, inputGrads: readonly (Float32Array | null)[]): void {
  const total = sizes.reduce((a, b) => a + b, 0);
  for (let b = 0; b < n; b++) {
    let off = b * total;
    for (let k = 0; k < sizes.length; k++) {
      const size = sizes[k];
      const g = inputGrads[k];
      if (g !== null) {
        const dst = b * size;
        for (let i = 0; i < size; i++) g[dst + i] += outputGrad[off + i];
      }
      off += size;
    }
  }
}

/**
 * Element-wise product of x [n, C, H, W] and g [n, C, S] with S = H*W (same shape) or S = 1 (one value
 * per channel, broadcast over the positions: the squeeze-and-excitation gate):
 *   out[b, c, p] = x[b, c, p] * g[b, c, S == 1 ? 0 : p]
 */
export function mulForward(n: number, channels: number, spatial: number, gateSpatial: number, x: Float32Array, g: Float32Array, output: Float32Array): void {
  for (let b = 0; b < n; b++) {
    for (let c = 0; c < channels; c++) {
      const xo = (b * channels + c) * spatial;
      const go = (b * channels + c) * gateSpatial;
      if (gateSpatial === 1) {
        const v = g[go];
        for (let p = 0; p < spatial; p++) output[xo + p] = x[xo + p] * v;
      } else {
        for (let p = 0; p < spatial; p++) output[xo + p] = x[xo + p] * g[go + p];
      }
    }
  }
}

/** Gradients of mulForward, ACCUMULATED: dx += dy * g; dg += dy * x (summed over the positions when broadcast). */
export function mulBackward(
  n: number, channels: number, spatial: number, gateSpatial: number, x: Float32Array, g: Float32Array, outputGrad: Float32Array,
  xGrad: Float32Array | null, gGrad: Float32Array | null,
): void {
  for (let b = 0; b < n; b++) {
    for (let c = 0; c < channels; c++) {
      const xo = (b * channels + c) * spatial;
      const go = (b * channels + c) * gateSpatial;
      if (gateSpatial === 1) {
        const v = g[go];
        let sum = 0;
        for (let p = 0; p < spatial; p++) {
          if (xGrad) xGrad[xo + p] += outputGrad[xo + p] * v;
          sum += outputGrad[xo + p] * x[xo + p];
        }
        if (gGrad) gGrad[go] += sum;
      } else {
        for (let p = 0; p < spatial; p++) {
          if (xGrad) xGrad[xo + p] += outputGrad[xo + p] * g[go + p];
          if (gGrad) gGrad[go + p] += outputGrad[xo + p] * x[xo + p];
        }
      }
    }
  }
}

/**
 * Channel gather: out[b, o] = x[b, source[o]] for whole H*W planes (ShuffleNet's channel shuffle and
 * channel slices). Backward ADDS each output plane's gradient into the plane it came from.
 */
export function gatherChannelsForward(n: number, inC: number, plane: number, source: Int32Array, x: Float32Array, out: Float32Array): void {
  const outC = source.length;
  for (let b = 0; b < n; b++) {
    for (let o = 0; o < outC; o++) {
      const src = (b * inC + source[o]) * plane;
      out.set(x.subarray(src, src + plane), (b * outC + o) * plane);
    }
  }
}

export function gatherChannelsBackward(n: number, inC: number, plane: number, source: Int32Array, outputGrad: Float32Array, inputGrad: Float32Array | null): void {
  if (!inputGrad) return;
  const outC = source.length;
  for (let b = 0; b < n; b++) {
    for (let o = 0; o < outC; o++) {
      const dst = (b * inC + source[o]) * plane;
      const src = (b * outC + o) * plane;
      for (let p = 0; p < plane; p++) inputGrad[dst + p] += outputGrad[src + p];
    }
  }
}
