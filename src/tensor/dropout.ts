/**
 * Inverted dropout: while training, each element is kept with probability 1 - p and scaled by 1/(1 - p),
 * so the expected activation is unchanged and inference is the identity (ConvNetJS instead scales by p at
 * test time and leaves training unscaled; the two are equivalent up to that rescaling).
 * The caller fills `keep` (1 keep / 0 drop) beforehand, normally with `fillDropoutMask`.
 */
import { hashUniform } from '../util/rng.js';

/** Scale applied to kept elements (0 when everything is dropped, p >= 1). */
function keepScale(dropProb: number): number {
  return dropProb < 1 ? 1 / (1 - dropProb) : 0;
}

export function dropoutForward(
  input: Float32Array,
  output: Float32Array,
  keep: Uint8Array,
  count: number,
  dropProb: number,
  training: boolean,
): void {
  if (!training) {
    if (output !== input) for (let i = 0; i < count; i++) output[i] = input[i];
    return;
  }
  const scale = keepScale(dropProb);
  for (let i = 0; i < count; i++) output[i] = keep[i] !== 0 ? input[i] * scale : 0;
}

/** inputGrad += outputGrad * keep / (1 - p) (ACCUMULATED; null: skip). Training-mode backward. */
export function dropoutBackward(
  outputGrad: Float32Array,
  inputGrad: Float32Array | null,
  keep: Uint8Array,
  count: number,
  dropProb: number,
): void {
  if (inputGrad === null) return;
  const scale = keepScale(dropProb);
  for (let i = 0; i < count; i++) inputGrad[i] += keep[i] !== 0 ? outputGrad[i] * scale : 0;
}

/**
 * Fill keep[0 .. count) for a micro-batch of count / perSample samples whose first sample is number
 * `firstSample` of the whole mini-batch. Element e of the micro-batch is element e % perSample of global
 * sample firstSample + floor(e / perSample), i.e. global element firstSample*perSample + e, and it is
 * dropped iff
 *   hashUniform(seed, layerIndex * 1_000_003 + step, firstSample * perSample + e) < dropProb.
 * The keys depend only on (seed, layer, step, global sample, element within the sample), so the mask is
 * the same however the mini-batch is split into micro-batches or across workers.
 * (Keys are taken mod 2^32 by hashUniform: fine below 4e9 elements per mini-batch.)
 */
export function fillDropoutMask(
  keep: Uint8Array,
  count: number,
  dropProb: number,
  seed: number,
  layerIndex: number,
  step: number,
  firstSample: number,
  perSample: number,
): void {
  const stream = layerIndex * 1_000_003 + step;
  const base = firstSample * perSample;
  for (let e = 0; e < count; e++) keep[e] = hashUniform(seed, stream, base + e) < dropProb ? 0 : 1;
}
