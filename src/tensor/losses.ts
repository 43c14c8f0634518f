/**
 * Loss kernels over a batch [n, classes]. Each returns the SUM of the per-sample losses (not the mean)
 * and ADDS the gradient of that sum with respect to its input into the gradient buffer (+=, like every
 * backward kernel; skip it by passing null).
 * Sums are accumulated in float64.
 */

/**
 * Softmax + cross-entropy, optionally against label-smoothed targets (Szegedy et al. 2016, PyTorch's
 * label_smoothing): target t = (1 - e) * onehot(y) + e / classes, e = `smoothing` in [0, 1).
 * probs[b, :] = softmax(logits[b, :]); loss_b = -sum_i t_i log p_i = logsumexp(z) - sum_i t_i z_i, computed
 * with the max subtracted (stable; never Infinity even when p_y underflows to 0). logitsGrad = probs - t.
 * With e = 0 this is -log p_y and probs - onehot(y).
 */
export function softmaxCrossEntropy(
  n: number,
  classes: number,
  logits: Float32Array,
  labels: Int32Array,
  probs: Float32Array,
  logitsGrad: Float32Array | null,
  smoothing = 0,
): number {
  let loss = 0;
  const off = smoothing / classes;
  const on = 1 - smoothing;
  for (let b = 0; b < n; b++) {
    const row = b * classes;
    const end = row + classes;
    const y = labels[b];
    const lse = softmaxRow(logits, probs, row, end);
    if (smoothing === 0) {
      loss += lse - logits[row + y];
    } else {
      let dot = 0;
      for (let i = row; i < end; i++) dot += logits[i];
      loss += lse - (on * logits[row + y] + off * dot);
    }
    if (logitsGrad !== null) {
      for (let i = row; i < end; i++) logitsGrad[i] += probs[i] - off;
      logitsGrad[row + y] -= on;
    }
  }
  return loss;
}

/** probs[b, :] = softmax(logits[b, :]) (max-subtracted). */
export function softmax(n: number, classes: number, logits: Float32Array, probs: Float32Array): void {
  for (let b = 0; b < n; b++) softmaxRow(logits, probs, b * classes, (b + 1) * classes);
}

/** Softmax of logits[row, end) into probs (max-subtracted); returns log(sum(exp(logits))) of the row. */
function softmaxRow(logits: Float32Array, probs: Float32Array, row: number, end: number): number {
  let max = -Infinity;
  for (let i = row; i < end; i++) if (logits[i] > max) max = logits[i];
  let sum = 0;
  for (let i = row; i < end; i++) {
    const e = Math.exp(logits[i] - max);
    probs[i] = e;
    sum += e;
  }
  const inv = 1 / sum;
  for (let i = row; i < end; i++) probs[i] *= inv;
  return max + Math.log(sum);
}

/**
 * Multiclass hinge (Weston-Watkins SVM) loss, margin 1: loss_b = sum_{i != y} max(0, s_i - s_y + 1).
 * Gradient: +1 on each violating i, minus the number of violators on y.
 * NOTE: ConvNetJS's SVMLayer also loops over i == y, adding a constant 1 per sample to the loss
 * (its gradient contributions +1 and -1 cancel); we use the standard definition without it.
 */
export function svmLoss(
  n: number,
  classes: number,
  scores: Float32Array,
  labels: Int32Array,
  scoresGrad: Float32Array | null,
): number {
  let loss = 0;
  for (let b = 0; b < n; b++) {
    const row = b * classes;
    const y = labels[b];
    const sy = scores[row + y];
    let violators = 0;
    for (let i = 0; i < classes; i++) {
      if (i === y) {
        continue;
      }
      const margin = scores[row + i] - sy + 1;
      if (margin > 0) {
        loss += margin;
        violators++;
        if (scoresGrad !== null) scoresGrad[row + i] += 1;
      }
    }
    if (scoresGrad !== null) scoresGrad[row + y] -= violators;
  }
  return loss;
}

/**
 * L2 regression: loss = sum 0.5 * (x - t)^2 over n * dims outputs, gradient x - t.
 * (ConvNetJS's RegressionLayer reports 2*(x-t)^2 as the loss with gradient x - t; we keep loss and
 * gradient consistent.)
 */
export function l2RegressionLoss(
  n: number,
  dims: number,
  outputs: Float32Array,
  targets: Float32Array,
  outputsGrad: Float32Array | null,
): number {
  let loss = 0;
  const count = n * dims;
  for (let i = 0; i < count; i++) {
    const diff = outputs[i] - targets[i];
    loss += 0.5 * diff * diff;
    if (outputsGrad !== null) outputsGrad[i] += diff;
  }
  return loss;
}
