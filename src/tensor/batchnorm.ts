/**
 * Batch normalisation over [n, c, spatial] (NCHW with spatial = H*W; after an fc layer spatial = 1, so
 * each unit is a channel). PyTorch's convention:
 *
 *   training:   mean_c = mean over (b, s) of x[b, c, s],  var_c = biased variance over the same m = n*spatial values
 *               y = gamma_c * (x - mean_c) / sqrt(var_c + eps) + beta_c
 *   evaluation: the same with the running mean / variance instead of the batch's.
 *   running:    running = (1 - momentum) * running + momentum * batchStat, with the UNBIASED variance
 *               var_c * m / (m - 1) for the running variance (updateRunningStats).
 *
 * gamma / beta may be null (affine: false): gamma = 1, beta = 0.
 * Forward in training returns the batch statistics in `mean` / `invStd` (1 / sqrt(var + eps)) and
 * `variance` (biased), so the caller can fold them into running statistics in a fixed order and so
 * backward need not keep the normalised values (it recomputes them from the input).
 * Backward ADDS into inputGrad, gammaGrad and betaGrad (+=); null skips a gradient.
 *   training:   dx = gamma * invStd / m * (m * dy - sum(dy) - xhat * sum(dy * xhat))
 *   evaluation: dx = gamma * invStd * dy                     (running statistics are constants)
 *   dgamma += sum(dy * xhat), dbeta += sum(dy)
 * Sums are taken per channel in float64, sample by sample in order (deterministic).
 */

export interface BatchNormDims {
  n: number;
  c: number;
  /** H * W (1 after an fc layer). */
  spatial: number;
}

/** Per-channel batch mean and biased variance of x (float64 sums, two passes for accuracy). */
export function batchNormStats(d: BatchNormDims, input: Float32Array, mean: Float32Array, variance: Float32Array): void {
  const { n, c: C, spatial } = d;
  const m = n * spatial;
  for (let c = 0; c < C; c++) {
    let sum = 0;
    for (let b = 0; b < n; b++) {
      const off = (b * C + c) * spatial;
      for (let s = off, end = off + spatial; s < end; s++) sum += input[s];
    }
    const mu = sum / m;
    let sq = 0;
    for (let b = 0; b < n; b++) {
      const off = (b * C + c) * spatial;
      for (let s = off, end = off + spatial; s < end; s++) {
        const t = input[s] - mu;
        sq += t * t;
      }
    }
    mean[c] = mu;
    variance[c] = sq / m;
  }
}

/** y = scale_c * x + shift_c per channel (the normalisation folded into one multiply-add). */
function scaleShift(d: BatchNormDims, input: Float32Array, scale: Float64Array, shift: Float64Array, output: Float32Array): void {
  const { n, c: C, spatial } = d;
  for (let b = 0; b < n; b++) {
    for (let c = 0; c < C; c++) {
      const a = scale[c];
      const z = shift[c];
      const off = (b * C + c) * spatial;
      for (let s = off, end = off + spatial; s < end; s++) output[s] = a * input[s] + z;
    }
  }
}

/**
 * Training forward: batch statistics into mean / variance (biased) / invStd, then output = normalised
 * input scaled by gamma and shifted by beta.
 */
export function batchNormForwardTrain(
  d: BatchNormDims,
  input: Float32Array,
  gamma: Float32Array | null,
  beta: Float32Array | null,
  eps: number,
  output: Float32Array,
  mean: Float32Array,
  variance: Float32Array,
  invStd: Float32Array,
): void {
  batchNormStats(d, input, mean, variance);
  const scale = new Float64Array(d.c);
  const shift = new Float64Array(d.c);
  for (let c = 0; c < d.c; c++) {
    invStd[c] = 1 / Math.sqrt(variance[c] + eps);
    const g = gamma ? gamma[c] : 1;
    scale[c] = g * invStd[c];
    shift[c] = (beta ? beta[c] : 0) - mean[c] * scale[c];
  }
  scaleShift(d, input, scale, shift, output);
}

/** Evaluation forward with the running statistics. */
export function batchNormForwardEval(
  d: BatchNormDims,
  input: Float32Array,
  gamma: Float32Array | null,
  beta: Float32Array | null,
  eps: number,
  runningMean: Float32Array,
  runningVar: Float32Array,
  output: Float32Array,
): void {
  const scale = new Float64Array(d.c);
  const shift = new Float64Array(d.c);
  for (let c = 0; c < d.c; c++) {
    const g = gamma ? gamma[c] : 1;
    scale[c] = g / Math.sqrt(runningVar[c] + eps);
    shift[c] = (beta ? beta[c] : 0) - runningMean[c] * scale[c];
  }
  scaleShift(d, input, scale, shift, output);
}

/**
 * Backward. `mean` / `invStd` are the statistics the forward normalised with: the batch's in training
 * (training = true), the running ones in evaluation (mean = runningMean, invStd = 1/sqrt(runningVar + eps)).
 */
export function batchNormBackward(
  d: BatchNormDims,
  training: boolean,
  input: Float32Array,
  gamma: Float32Array | null,
  mean: Float32Array,
  invStd: Float32Array,
  outputGrad: Float32Array,
  inputGrad: Float32Array | null,
  gammaGrad: Float32Array | null,
  betaGrad: Float32Array | null,
): void {
  const { n, c: C, spatial } = d;
  const m = n * spatial;
  for (let c = 0; c < C; c++) {
    const mu = mean[c];
    const is = invStd[c];
    let sumDy = 0;
    let sumDyXhat = 0;
    for (let b = 0; b < n; b++) {
      const off = (b * C + c) * spatial;
      for (let s = off, end = off + spatial; s < end; s++) {
        const dy = outputGrad[s];
        sumDy += dy;
        sumDyXhat += dy * (input[s] - mu) * is;
      }
    }
    if (gammaGrad) gammaGrad[c] += sumDyXhat;
    if (betaGrad) betaGrad[c] += sumDy;
    if (!inputGrad) continue;
    const g = gamma ? gamma[c] : 1;
    if (training) {
      // dx = k * (dy - a - xhat * q), k = gamma * invStd, a = sum(dy)/m, q = sum(dy xhat)/m
      const k = g * is;
      const a = sumDy / m;
      const q = sumDyXhat / m;
      for (let b = 0; b < n; b++) {
        const off = (b * C + c) * spatial;
        for (let s = off, end = off + spatial; s < end; s++) {
          inputGrad[s] += k * (outputGrad[s] - a - (input[s] - mu) * is * q);
        }
      }
    } else {
      const k = g * is;
      for (let b = 0; b < n; b++) {
        const off = (b * C + c) * spatial;
        for (let s = off, end = off + spatial; s < end; s++) inputGrad[s] += k * outputGrad[s];
      }
    }
  }
}

/**
 * Fold one batch's statistics into running statistics (PyTorch): running = (1 - momentum) * running
 * + momentum * stat, the variance made unbiased with count / (count - 1) (count = values per channel
 * in that batch; a batch of one value per channel leaves the biased variance, 0).
 */
export function updateRunningStats(
  runningMean: Float32Array,
  runningVar: Float32Array,
  mean: ArrayLike<number>,
  variance: ArrayLike<number>,
  count: number,
  momentum: number,
): void {
  const unbias = count > 1 ? count / (count - 1) : 1;
  for (let c = 0; c < runningMean.length; c++) {
    runningMean[c] = (1 - momentum) * runningMean[c] + momentum * mean[c];
    runningVar[c] = (1 - momentum) * runningVar[c] + momentum * variance[c] * unbias;
  }
}

/** invStd[c] = 1 / sqrt(runningVar[c] + eps), for the evaluation backward. */
export function invStdOf(runningVar: Float32Array, eps: number, invStd: Float32Array): void {
  for (let c = 0; c < runningVar.length; c++) invStd[c] = 1 / Math.sqrt(runningVar[c] + eps);
}
