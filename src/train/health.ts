/**
 * Layer health over training (the CS231n checklist), measured around every optimizer step:
 * - gradient norm: ||g|| of each layer's weights, g = the mini-batch mean gradient of the data loss
 *   (what the optimizer is given, before weight decay);
 * - update-to-weight ratio: ||w_after - w_before|| / ||w_before|| of each layer's weights per step;
 *   about 1e-3 is healthy (much larger: the learning rate is too high; much smaller: too low).
 * Averaged per epoch, and over segments of about a tenth of an epoch (the trace) so that a short run
 * still draws a curve. Cost per step: one copy and two passes over the weights (the ConvNetJS CIFAR-10
 * net: 79k weights, well under a millisecond against tens of milliseconds per step).
 * Activation mean/std and dead ReLUs come from the end-of-epoch pass (patch-pass.ts).
 */
import type { ParamRange } from '../nn/network.js';
import type { EpochHealth, HealthTracePoint, LayerHealth } from '../viz/types.js';
import type { LayerActivationHealth } from './patch-pass.js';

export const TRACE_SEGMENTS = 10;
export type { EpochHealth, HealthTracePoint, LayerHealth };

/** What the health numbers need to know of a layer. */
export interface HealthLayerInfo {
  type: string;
  isLoss: boolean;
}

interface Acc {
  grad: number;
  ratio: number;
  n: number;
}

/** One layer's sums: [layer, summed gradient norm, summed update ratio, steps counted]. */
type HealthSums = [number, number, number, number];

/** HealthMeter's sums within the current epoch, as a mid-epoch checkpoint keeps them. */
export interface HealthMeterState {
  epoch: HealthSums[];
  segment: HealthSums[];
  trace: HealthTracePoint[];
}

/** What is wrong with a saved HealthMeterState (null: nothing), for checkpoint validation. */
export function healthStateProblem(v: unknown): string | null {
  if (typeof v !== 'object' || v === null) return `expected an object, got ${JSON.stringify(v)?.slice(0, 40)}`;
  const s = v as Record<string, unknown>;
  const finite = (x: unknown): boolean => typeof x === 'number' && Number.isFinite(x);
  for (const k of ['epoch', 'segment']) {
    const rows = s[k];
    if (!Array.isArray(rows)) return `field "${k}": expected a list`;
    for (const r of rows as unknown[]) {
      if (!Array.isArray(r) || r.length !== 4 || !r.every(finite) || !Number.isInteger(r[0]) || (r[0] as number) < 1 || !Number.isInteger(r[3]) || (r[3] as number) < 0) {
        return `field "${k}": expected [layer, gradient sum, ratio sum, steps] rows, got ${JSON.stringify(r)?.slice(0, 60)}`;
      }
    }
  }
  if (!Array.isArray(s.trace)) return 'field "trace": expected a list';
  for (const p of s.trace as unknown[]) {
    const q = p as Record<string, unknown> | null;
    const numbers = (o: unknown) => typeof o === 'object' && o !== null && Object.values(o).every(finite);
    if (typeof q !== 'object' || q === null || !finite(q.x) || !numbers(q.gradNorm) || !numbers(q.updateRatio)) {
      return `field "trace": expected points {x, gradNorm, updateRatio}, got ${JSON.stringify(p)?.slice(0, 60)}`;
    }
  }
  return null;
}

export class HealthMeter {
  private readonly weights: ParamRange[];
  private readonly before: Float32Array[];
  private epochAcc = new Map<number, Acc>();
  private segAcc = new Map<number, Acc>();
  private trace: HealthTracePoint[] = [];

  constructor(
    ranges: readonly ParamRange[],
    private readonly batchesPerEpoch: number,
  ) {
    this.weights = ranges.filter((r) => r.name === 'weights');
    this.before = this.weights.map((r) => new Float32Array(r.length));
  }

  /** Before optimizer.update: reads the summed gradients (they are zeroed by the update). */
  beforeUpdate(params: Float32Array, grads: Float32Array, batchSize: number): void {
    this.weights.forEach((r, k) => {
      let sq = 0;
      for (let i = r.offset; i < r.offset + r.length; i++) sq += grads[i] * grads[i];
      this.add(r.layer, Math.sqrt(sq) / Math.max(1, batchSize), 0, false);
      this.before[k].set(params.subarray(r.offset, r.offset + r.length));
    });
  }

  /** After optimizer.update. `epoch` is 0-based, `batch` the 0-based index of the step just taken. */
  afterUpdate(params: Float32Array, epoch: number, batch: number): void {
    this.weights.forEach((r, k) => {
      const b = this.before[k];
      let d = 0;
      let w = 0;
      for (let i = 0; i < r.length; i++) {
        const p = params[r.offset + i];
        d += (p - b[i]) * (p - b[i]);
        w += b[i] * b[i];
      }
      this.add(r.layer, 0, w > 0 ? Math.sqrt(d / w) : 0, true);
    });
    const seg = Math.max(1, Math.ceil(this.batchesPerEpoch / TRACE_SEGMENTS));
    if ((batch + 1) % seg === 0 || batch + 1 === this.batchesPerEpoch) this.closeSegment(epoch + (batch + 1) / this.batchesPerEpoch);
  }

  private add(layer: number, grad: number, ratio: number, counts: boolean): void {
    for (const m of [this.epochAcc, this.segAcc]) {
      const a = m.get(layer) ?? { grad: 0, ratio: 0, n: 0 };
      a.grad += grad;
      a.ratio += ratio;
      if (counts) a.n++;
      m.set(layer, a);
    }
  }

  /** The sums so far in this epoch, for a mid-epoch checkpoint (plain JSON; see restore). */
  state(): HealthMeterState {
    const rows = (m: Map<number, Acc>): HealthSums[] => [...m].map(([layer, a]) => [layer, a.grad, a.ratio, a.n]);
    return { epoch: rows(this.epochAcc), segment: rows(this.segAcc), trace: this.trace.map((p) => ({ ...p })) };
  }

  /** Continue an epoch from state() (a resumed run then reports the same averages as an uninterrupted one). */
  restore(s: HealthMeterState): void {
    const map = (rows: HealthSums[]) => new Map(rows.map(([layer, grad, ratio, n]) => [layer, { grad, ratio, n }]));
    this.epochAcc = map(s.epoch);
    this.segAcc = map(s.segment);
    this.trace = s.trace.map((p) => ({ ...p }));
  }

  private closeSegment(x: number): void {
    if (this.segAcc.size === 0) return;
    const p: HealthTracePoint = { x: Number(x.toFixed(4)), gradNorm: {}, updateRatio: {} };
    for (const [layer, a] of this.segAcc) {
      if (a.n === 0) continue;
      p.gradNorm[layer] = a.grad / a.n;
      p.updateRatio[layer] = a.ratio / a.n;
    }
    this.trace.push(p);
    this.segAcc = new Map();
  }

  /**
   * The epoch's numbers, merged with the end-of-epoch activation numbers; resets for the next epoch.
   * `net`: the network's layers in order (type, and whether the registry calls it a loss layer).
   */
  takeEpoch(net: readonly HealthLayerInfo[], activations: readonly LayerActivationHealth[], subsetImages: number): EpochHealth {
    const layers: LayerHealth[] = [];
    for (let i = 1; i < net.length; i++) {
      const e: LayerHealth = { layer: i, type: net[i].type };
      if (net[i].isLoss) e.isLoss = true;
      const a = this.epochAcc.get(i);
      if (a && a.n > 0) {
        e.gradNorm = a.grad / a.n;
        e.updateRatio = a.ratio / a.n;
      }
      const act = activations.find((x) => x.layer === i);
      if (act) {
        e.mean = act.mean;
        e.std = act.std;
        if (act.deadFraction !== undefined) e.deadFraction = act.deadFraction;
      }
      layers.push(e);
    }
    const out: EpochHealth = { layers, trace: this.trace, subsetImages };
    this.epochAcc = new Map();
    this.segAcc = new Map();
    this.trace = [];
    return out;
  }
}
