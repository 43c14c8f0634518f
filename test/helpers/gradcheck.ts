import { expect } from 'vitest';
import type { PassContext } from '../../src/nn/layers/layer.js';
import { Network } from '../../src/nn/network.js';
import { parseSpec } from '../../src/nn/spec.js';
import { Rng } from '../../src/util/rng.js';

/**
 * Whole-network gradient checks: the kernels are checked one by one in test/tensor against float64
 * references; this checks the wiring (buffers, layer order, which gradients are passed on, loss layers).
 * The network computes in float32, so central differences use h = 2e-3 (small enough that max-like
 * layers rarely switch winners, large enough that float32 rounding of a loss of order 1-10, ~1e-6
 * absolute, divided by 2h stays ~1e-3) with errors relative to max(|a|+|n|, 1e-2): right gradients
 * land around 1e-3, a wrong one is off by O(1), so 2e-2 separates them.
 */
const TOLERANCE = 2e-2;

export interface GradCheckOptions {
  /** Training mode (batch statistics, dropout) or evaluation mode (running statistics). */
  training?: boolean;
  /** Probes per parameter tensor. */
  paramProbes?: number;
  /** Set the state (e.g. running statistics) away from its initial 0 / 1, so evaluation mode checks something. */
  randomState?: boolean;
}

/** Returns the worst relative error (every probe is also asserted below TOLERANCE). */
export function gradCheck(
  defs: unknown[], labelsOrTargets: { labels?: Int32Array; values?: Float32Array }, n: number, inputProbes = 5,
  { training = true, paramProbes = 5, randomState = false }: GradCheckOptions = {},
): number {
  const spec = parseSpec(defs, 'gradcheck');
  const net = new Network(spec);
  net.initialize(3);
  const rng = new Rng(11);
  if (randomState) net.state.forEach((_, i) => (net.state[i] = 0.2 + rng.next()));
  const [c, h, w] = spec.shapes[0];
  const x = new Float32Array(n * c * h * w).map(() => rng.next() - 0.5);
  const ctx: PassContext = { training, ws: net.ws, seed: 5, step: 2, firstSample: 0 };
  const loss = (): number => {
    net.forward(x, n, ctx);
    const saved = net.grads.slice();
    const l = net.backward(labelsOrTargets, ctx, true);
    net.grads.set(saved);
    return l;
  };
  net.zeroGrads();
  net.forward(x, n, ctx);
  net.backward(labelsOrTargets, ctx, true);
  const analytic = net.grads.slice();
  const inputGrad = net.actGrads[0].slice(0, x.length);
  const errors: { what: string; rel: number }[] = [];
  const probe = (arr: Float32Array, i: number, a: number, what: string) => {
    const h = 2e-3;
    const old = arr[i];
    arr[i] = old + h;
    const lp = loss();
    arr[i] = old - h;
    const lm = loss();
    arr[i] = old;
    const numeric = (lp - lm) / (2 * h);
    errors.push({ what, rel: Math.abs(a - numeric) / Math.max(Math.abs(a) + Math.abs(numeric), 1e-2) });
  };
  for (const r of net.paramRanges) {
    for (let k = 0; k < paramProbes; k++) {
      const i = r.offset + rng.int(r.length);
      probe(net.params, i, analytic[i], `layer ${r.layer} ${r.name}[${i - r.offset}]`);
    }
  }
  for (let k = 0; k < inputProbes; k++) {
    const i = rng.int(x.length);
    probe(x, i, inputGrad[i], `input[${i}]`);
  }
  const worst = errors.reduce((a, b) => (b.rel > a.rel ? b : a));
  const mode = training ? 'training' : 'evaluation';
  console.log(`network gradient check (${spec.layers.map((l) => l.type).join(' ')}, ${mode}): worst relative error ${worst.rel.toExponential(2)} at ${worst.what}`);
  for (const e of errors) expect(e.rel, e.what).toBeLessThan(TOLERANCE);
  return worst.rel;
}

