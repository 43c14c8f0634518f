/**
 * A test-only layer type with state, in plain JavaScript so that worker threads can load it too
 * (registerLayerModule): `teststat` passes values through while training and subtracts its running
 * per-channel mean when evaluating. Each training micro-batch writes its per-channel sums (stats);
 * foldState folds them in micro-batch order: mean = 0.5 * mean + 0.5 * (sum / values), exactly as
 * batch-norm running statistics would be, so the tests can check the state machinery end to end.
 */
export const testStatLayer = {
  type: 'teststat',
  parse: () => ({}),
  outShape: (_c, [s]) => [s[0], s[1], s[2]],
  state: (_c, [s]) => [{ name: 'runningMean', shape: [s[0]], init: 0 }],
  stats: (_c, [s]) => s[0],
  foldState(_c, [mean], stats, counts) {
    stats.forEach((st, t) => {
      for (let ch = 0; ch < mean.data.length; ch++) mean.data[ch] = 0.5 * mean.data[ch] + 0.5 * (st[ch] / counts[t]);
    });
  },
  describe: () => 'test running mean',
  hints: { negative: 'can', explain: 'teststat' },
  create: (node) => {
    const [channels, h, w] = node.inShapes[0];
    const spatial = h * w;
    return {
      forward(inputs, output, n, ctx) {
        const x = inputs[0];
        const mean = node.state[0].data;
        for (let b = 0, i = 0; b < n; b++) {
          for (let ch = 0; ch < channels; ch++) {
            const m = ctx.training ? 0 : mean[ch];
            for (let p = 0; p < spatial; p++, i++) output[i] = x[i] - m;
          }
        }
        if (!ctx.training) return;
        node.stats.fill(0);
        for (let b = 0, i = 0; b < n; b++) {
          for (let ch = 0; ch < channels; ch++) {
            let s = 0;
            for (let p = 0; p < spatial; p++, i++) s += x[i];
            node.stats[ch] += s / spatial;
          }
        }
      },
      backward(_inputs, _output, outputGrad, inputGrads, n) {
        const g = inputGrads[0];
        if (!g) return;
        for (let i = 0; i < n * node.outSize; i++) g[i] += outputGrad[i];
      },
    };
  },
};
