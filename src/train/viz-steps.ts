/**
 * `--viz-steps`: pictures during training, not only at epoch ends, into <out>/step-NNNNNN/ (the
 * epoch-folder layout). A step is the number of optimizer updates done (step 0: the initial weights).
 *
 *   none            no step pictures
 *   0,50,200,1000   exactly these steps (any epoch), whatever they cost
 *   log (default)   0, 10, 30, 100, 300, 1000, 3000, ... below the first epoch's batch count, within a
 *                   time budget: step 0 is always drawn; a later step only while the drawing so far,
 *                   plus one more drawing as long as the longest so far, stays within LOG_BUDGET (8%) of the first epoch's
 *                   training time (projected from the steps so far). Early steps come first, so when
 *                   drawing is slow the later ones are dropped. Measured in `npm run bench -- --viz-steps`.
 */
import { InvalidArgumentError } from 'commander';

export type VizSteps = 'none' | 'log' | number[];

/**
 * Share of the first epoch's training time that `log` may spend drawing. The bound is 15%; 8%
 * leaves room for a drawing that takes longer than the longest so far (a busy machine): measured under
 * load, `npm run bench -- --viz-steps` gave 9.5% and 13.6% with a 10% budget and last-drawing estimate.
 */
export const LOG_BUDGET = 0.08;

export function parseVizSteps(value: string): VizSteps {
  const v = value.trim().toLowerCase();
  if (v === 'none' || v === 'log') return v;
  const parts = v.split(',').map((s) => s.trim());
  const steps = parts.map(Number);
  if (parts.length === 0 || parts.some((p, i) => p === '' || !Number.isInteger(steps[i]) || steps[i] < 0)) {
    throw new InvalidArgumentError(`expected "log", "none" or a list of steps like 0,50,200,1000, got "${value}"`);
  }
  return [...new Set(steps)].sort((a, b) => a - b);
}

export function formatVizSteps(v: VizSteps): string {
  return Array.isArray(v) ? v.join(',') : v;
}

/** The log-spaced candidate steps below `batches` (the first epoch): 0, 10, 30, 100, 300, 1000, ... */
export function logSteps(batches: number): number[] {
  const out = [0];
  for (let k = 1; ; k++) {
    const s = k % 2 === 1 ? 10 ** ((k + 1) / 2) : 3 * 10 ** (k / 2);
    if (s >= batches) break;
    out.push(s);
  }
  return out;
}

/** Decides, step by step, whether to draw (see the module notes). */
export class VizStepPlanner {
  private readonly wanted: Set<number>;
  private readonly budgeted: boolean;
  private spent = 0;
  private longest = 0;

  constructor(
    steps: VizSteps,
    private readonly batchesPerEpoch: number,
  ) {
    this.budgeted = steps === 'log';
    this.wanted = new Set(steps === 'none' ? [] : steps === 'log' ? logSteps(batchesPerEpoch) : steps);
  }

  get any(): boolean {
    return this.wanted.size > 0;
  }

  /**
   * Draw at `step`? `trainSeconds` and `stepsTrained` describe the training done by this process so
   * far (for the projection of the first epoch's time).
   */
  due(step: number, trainSeconds: number, stepsTrained: number): boolean {
    if (!this.wanted.has(step)) return false;
    if (!this.budgeted || step === 0) return true;
    if (stepsTrained <= 0) return false;
    const epochSeconds = (trainSeconds / stepsTrained) * this.batchesPerEpoch;
    return this.spent + this.longest <= LOG_BUDGET * epochSeconds;
  }

  /** Record the wall time of one drawing. */
  drew(seconds: number): void {
    this.spent += seconds;
    this.longest = Math.max(this.longest, seconds);
  }
}
