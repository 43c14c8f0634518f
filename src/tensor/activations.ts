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

/**
 * The activations of today's mobile and transformer-era CNNs. Their backward passes need the INPUT x
 * (y alone does not tell x apart where they saturate); computed in float64, stored as float32:
 *   clip:        y = min(max(x, lo), hi)                  dx = dy * (lo < x < hi)      (ReLU6: lo 0, hi 6)
 *   hardsigmoid: y = max(0, min(1, a x + b))              dx = dy * a * (0 < a x + b < 1)
 *   hardswish:   y = x * hardsigmoid(x), a = 1/6, b = 1/2 dx = dy * (x < -3 ? 0 : x > 3 ? 1 : (2x + 3) / 6)
 *   silu:        y = x * s(x), s = sigmoid                dx = dy * (s + x s (1 - s))
 *   gelu:        y = x/2 (1 + erf(x / sqrt 2))            dx = dy * ((1 + erf(x / sqrt 2)) / 2 + x e^(-x^2/2) / sqrt(2 pi))
 *   elu:         y = x > 0 ? x : a (e^x - 1)              dx = dy * (x > 0 ? 1 : a e^x)
 *   softplus:    y = log(1 + e^x)                         dx = dy * s(x)
 * Input gradients are ACCUMULATED (+=); a null inputGrad means nothing to do.
 */
export type InputActivation = {
  forward(input: Float32Array, output: Float32Array, count: number): void;
  backward(input: Float32Array, outputGrad: Float32Array, inputGrad: Float32Array | null, count: number): void;
};

/** An element-wise activation from its value f(x) and derivative f'(x). */
function fromFunctions(f: (x: number) => number, df: (x: number) => number): InputActivation {
  return {
    forward(input, output, count) {
      for (let i = 0; i < count; i++) output[i] = f(input[i]);
    },
    backward(input, outputGrad, inputGrad, count) {
      if (inputGrad === null) return;
      for (let i = 0; i < count; i++) inputGrad[i] += outputGrad[i] * df(input[i]);
    },
  };
}

/** lo / hi: -Infinity / Infinity for no bound. */
export function clipActivation(lo: number, hi: number): InputActivation {
  return fromFunctions(
    (x) => (x < lo ? lo : x > hi ? hi : x),
    (x) => (x > lo && x < hi ? 1 : 0),
  );
}

export function hardSigmoidActivation(alpha: number, beta: number): InputActivation {
  const a = Math.fround(alpha);
  const b = Math.fround(beta);
  return fromFunctions(
    (x) => Math.max(0, Math.min(1, a * x + b)),
    (x) => {
      const t = a * x + b;
      return t > 0 && t < 1 ? a : 0;
    },
  );
}

export const hardSwishActivation: InputActivation = fromFunctions(
  (x) => (x * Math.max(0, Math.min(6, x + 3))) / 6,
  (x) => (x < -3 ? 0 : x > 3 ? 1 : (2 * x + 3) / 6),
);

const sig = (x: number): number => 1 / (1 + Math.exp(-x));

export const siluActivation: InputActivation = fromFunctions(
  (x) => x * sig(x),
  (x) => {
    const s = sig(x);
    return s + x * s * (1 - s);
  },
);

/** erf to float64 accuracy: its Taylor series near 0, erfc's continued fraction further out. */
export function erf(x: number): number {
  const z = Math.abs(x);
  if (z < 2.5) {
    // erf(z) = 2/sqrt(pi) * sum_n (-1)^n z^(2n+1) / (n! (2n+1))
    let term = z;
    let sum = z;
    for (let n = 1; n < 60; n++) {
      term *= (-z * z) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(z) = e^(-z^2)/sqrt(pi) * 1/(z + (1/2)/(z + 1/(z + (3/2)/(z + 2/(z + ...))))), evaluated from the tail.
  let f = z;
  for (let k = 60; k >= 1; k--) f = z + k / 2 / f;
  const erfc = Math.exp(-z * z) / Math.sqrt(Math.PI) / f;
  return Math.sign(x) * (1 - erfc);
}

export const geluActivation: InputActivation = fromFunctions(
  (x) => 0.5 * x * (1 + erf(x / Math.SQRT2)),
  (x) => 0.5 * (1 + erf(x / Math.SQRT2)) + (x * Math.exp(-0.5 * x * x)) / Math.sqrt(2 * Math.PI),
);

export function eluActivation(alpha: number): InputActivation {
  const a = Math.fround(alpha);
  return fromFunctions(
    (x) => (x > 0 ? x : a * Math.expm1(x)),
    (x) => (x > 0 ? 1 : a * Math.exp(x)),
  );
}

export const softplusActivation: InputActivation = fromFunctions(
  (x) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x))),
  sig,
);
