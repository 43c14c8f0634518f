/**
 * Maxout across channels (ConvNetJS semantics), tensors [n, C, spatial] with spatial = H*W (1 for dense):
 * outC = floor(inC / groupSize); output channel i = max over input channels i*g .. i*g + g - 1 at each
 * position (first maximum wins on ties). Input channels past outC*g (when inC % g != 0) are ignored.
 * `argmax` (same shape as the output) records the FLAT input index of each winner.
 */

export function maxoutForward(
  n: number,
  inC: number,
  spatial: number,
  groupSize: number,
  input: Float32Array,
  output: Float32Array,
  argmax: Int32Array,
): void {
  const outC = Math.floor(inC / groupSize);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < outC; i++) {
      const inBase = (b * inC + i * groupSize) * spatial;
      const outBase = (b * outC + i) * spatial;
      // Channel-at-a-time so every inner loop is contiguous: start from the group's first channel...
      for (let p = 0; p < spatial; p++) {
        output[outBase + p] = input[inBase + p];
        argmax[outBase + p] = inBase + p;
      }
      // ...and let each further channel of the group challenge it.
      for (let j = 1; j < groupSize; j++) {
        const chan = inBase + j * spatial;
        for (let p = 0; p < spatial; p++) {
          const v = input[chan + p];
          if (v > output[outBase + p]) {
            output[outBase + p] = v;
            argmax[outBase + p] = chan + p;
          }
        }
      }
    }
  }
}

/** inputGrad[argmax[o]] += outputGrad[o] (ACCUMULATED into inputGrad[n, inC, spatial]; null: skip). */
export function maxoutBackward(
  n: number,
  inC: number,
  spatial: number,
  groupSize: number,
  outputGrad: Float32Array,
  argmax: Int32Array,
  inputGrad: Float32Array | null,
): void {
  if (inputGrad === null) return;
  const count = n * Math.floor(inC / groupSize) * spatial;
  for (let o = 0; o < count; o++) inputGrad[argmax[o]] += outputGrad[o];
}
