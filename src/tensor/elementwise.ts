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
