/**
 * --ema <decay>: an exponential moving average of the weights, updated after every optimizer step and
 * used for the reported test (and validation) accuracy. The network's state (batch norm's running mean
 * and variance) is averaged the same way, so the averaged weights are normalised with statistics of
 * the same window of training, not of the latest weights alone (as timm's ModelEmaV2 does with buffers).
 *
 * Early steps would give the random initial weights most of the average, so the decay of update t
 * (t = 0, 1, ...) is min(decay, (1 + t) / (10 + t)), as TensorFlow's ExponentialMovingAverage with
 * num_updates: the average follows the weights closely at first and settles at `decay`.
 * The arithmetic is per element in float32 on the main thread, so it is the same for any --workers; the
 * averages and the update count are checkpointed, so a resumed run continues them exactly.
 */

/** What a checkpoint keeps of the average (the tensors go into the binary file, see snapshot.ts). */
export interface WeightAverageState {
  updates: number;
  params: Float32Array;
  state: Float32Array;
}

/** The decay of update number `updates` (0 for the first) for a target decay. */
export function emaDecayAt(decay: number, updates: number): number {
  return Math.min(decay, (1 + updates) / (10 + updates));
}

export class WeightAverage {
  readonly params: Float32Array;
  readonly state: Float32Array;
  updates: number;

  /** Starts at the given weights and state (copied), or continues a checkpoint's average. */
  constructor(readonly decay: number, params: Float32Array, state: Float32Array, saved?: WeightAverageState) {
    if (saved && (saved.params.length !== params.length || saved.state.length !== state.length)) {
      throw new Error(`weight average: the checkpoint's average has ${saved.params.length} parameters and ${saved.state.length} state values, the network ${params.length} and ${state.length}`);
    }
    this.params = Float32Array.from(saved?.params ?? params);
    this.state = Float32Array.from(saved?.state ?? state);
    this.updates = saved?.updates ?? 0;
  }

  /** Fold in the weights and state after an optimizer step. */
  update(params: Float32Array, state: Float32Array): void {
    const d = emaDecayAt(this.decay, this.updates);
    const e = 1 - d;
    blend(this.params, params, d, e);
    blend(this.state, state, d, e);
    this.updates += 1;
  }

  saved(): WeightAverageState {
    return { updates: this.updates, params: this.params.slice(), state: this.state.slice() };
  }
}

function blend(avg: Float32Array, x: Float32Array, d: number, e: number): void {
  for (let i = 0; i < avg.length; i++) avg[i] = d * avg[i] + e * x[i];
}

/**
 * Run `evaluate` with the averaged weights and state in the shared buffers the workers read, then put
 * the trained ones back (also when it throws). Workers copy the parameters once per command, so
 * swapping between commands is safe.
 */
export async function withWeights<T>(shared: { params: Float32Array; state: Float32Array }, avg: WeightAverage, evaluate: () => Promise<T>): Promise<T> {
  const params = shared.params.slice();
  const state = shared.state.slice();
  shared.params.set(avg.params);
  shared.state.set(avg.state);
  try {
    return await evaluate();
  } finally {
    shared.params.set(params);
    shared.state.set(state);
  }
}
