/**
 * Element-wise activations over the first `count` elements. Backward passes are computed from the layer's
 * OUTPUT y (what ConvNetJS does, and what a layer keeps anyway):
 *   relu:    y = max(0, x),          dx = dy * (y > 0)
 *   sigmoid: y = 1 / (1 + e^-x),     dx = dy * y * (1 - y)
 *   tanh:    y = tanh(x),            dx = dy * (1 - y^2)
 * Input gradients are ACCUMULATED (+=: a tensor read by two layers gets the sum); a null inputGrad means
 * there is nothing to do. In-place forward (output === input) is fine: each element is read before written.
 */

export function reluForward(input: Float32Array, output: Float32Array, count: number): void {
  for (let i = 0; i < count; i++) {
    const x = input[i];
    output[i] = x > 0 ? x : 0;
  }
}

export function reluBackward(
  output: Float32Array,
  outputGrad: Float32Array,
  inputGrad: Float32Array | null,
  count: number,
): void {
  if (inputGrad === null) return;
  for (let i = 0; i < count; i++) inputGrad[i] += output[i] > 0 ? outputGrad[i] : 0;
}

export function sigmoidForward(input: Float32Array, output: Float32Array, count: number): void {
  for (let i = 0; i < count; i++) output[i] = 1 / (1 + Math.exp(-input[i]));
}

export function sigmoidBackward(
  output: Float32Array,
  outputGrad: Float32Array,
  inputGrad: Float32Array | null,
  count: number,
): void {
  if (inputGrad === null) return;
  for (let i = 0; i < count; i++) {
    const y = output[i];
    inputGrad[i] += outputGrad[i] * y * (1 - y);
  }
}

export function tanhForward(input: Float32Array, output: Float32Array, count: number): void {
  for (let i = 0; i < count; i++) output[i] = Math.tanh(input[i]);
}

export function tanhBackward(
  output: Float32Array,
  outputGrad: Float32Array,
  inputGrad: Float32Array | null,
  count: number,
): void {
  if (inputGrad === null) return;
  for (let i = 0; i < count; i++) {
    const y = output[i];
    inputGrad[i] += outputGrad[i] * (1 - y * y);
  }
}

/** Leaky ReLU: y = x for x > 0, alpha * x otherwise. */
export function leakyReluForward(input: Float32Array, output: Float32Array, count: number, alpha: number): void {
  for (let i = 0; i < count; i++) {
    const x = input[i];
    output[i] = x > 0 ? x : alpha * x;
  }
}

/** dx += dy for x > 0, alpha * dy otherwise (from the INPUT: with alpha <= 0 the output's sign says nothing). */
export function leakyReluBackward(input: Float32Array, outputGrad: Float32Array, inputGrad: Float32Array | null, count: number, alpha: number): void {
  if (inputGrad === null) return;
  for (let i = 0; i < count; i++) inputGrad[i] += input[i] > 0 ? outputGrad[i] : alpha * outputGrad[i];
}
