import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import type { Augmentation } from '../data/augment.js';
import type { Cifar10Split } from '../data/cifar10.js';
import type { Preprocessing } from '../data/preprocess.js';
import type { TtaMode } from '../data/tta.js';
import { layerModules } from '../nn/layers/registry.js';
import { networkSizes } from '../nn/network.js';
import type { ModelSpec } from '../nn/spec.js';
import { selectedNative } from '../tensor/wasm.js';
import { UserError } from '../util/errors.js';
import { Command, Ctrl, shareSplit, type WorkerInit } from './shared.js';

/** The compiled worker: beside this file in dist/, or dist/ when running from TypeScript sources (tests). */
function workerUrl(): URL {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.ts')) return new URL('../../dist/parallel/worker.js', import.meta.url);
  return new URL('./worker.js', import.meta.url);
}

export interface PoolOptions {
  spec: ModelSpec;
  workers: number;
  seed: number;
  /** Images per micro-batch: the fixed unit of work whose gradients are summed in order. */
  microBatch: number;
  maxBatchSize: number;
  evalMicroBatch: number;
  preprocessing: Preprocessing;
  augmentation: Augmentation | null;
  /** Label smoothing of the softmax loss in training (0: none). */
  labelSmoothing?: number;
  /** Test-time augmentation of evaluations (default none). */
  tta?: TtaMode;
  train: Cifar10Split;
  test: Cifar10Split;
  /** Training images held back for validation (--holdout), evaluated with evaluate(count, 'val'). */
  val?: Cifar10Split;
}

export interface StepResult {
  /** Data loss summed over the batch. */
  lossSum: number;
  correct: number;
  /** Per micro-batch, in order: the statistics its layers wrote (Network.stats layout) and its image count. */
  stats: Float32Array[];
  counts: number[];
}

export interface EvalResult {
  lossSum: number;
  correct: number;
  /** Predicted class per test record evaluated. */
  predictions: Int32Array;
}

/** Thrown when a worker fails; the run ends with its message. */
export class WorkerFailure extends Error {}

/**
 * A pool of worker threads started once per run. The parameters live in a SharedArrayBuffer that
 * every replica reads; each mini-batch is cut into fixed micro-batches whose gradients land in their
 * own slots and are summed in micro-batch order, so the result does not depend on the worker count.
 */
export class WorkerPool {
  readonly params: Float32Array;
  /** The network's state vector, shared by every replica; the trainer folds each step's statistics into it. */
  readonly state: Float32Array;
  /** Gradient of the last mini-batch, summed over its images. */
  readonly grads: Float32Array;
  readonly permutation: Int32Array;
  private readonly ctrl: Int32Array;
  private readonly gradSlots: Float32Array;
  private readonly statSlots: Float32Array;
  private readonly statsCount: number;
  private readonly taskStats: Float64Array;
  private readonly predictions: Int32Array;
  private readonly workers: Worker[] = [];
  private failure: Error | null = null;
  private failed: Promise<never>;
  private rejectFailed!: (e: Error) => void;
  private stopped = false;
  private readonly paramCount: number;

  constructor(private readonly opts: PoolOptions) {
    if (!Number.isInteger(opts.workers) || opts.workers < 1) throw new UserError(`--workers must be a whole number >= 1, got ${opts.workers}`);
    const sizes = networkSizes(opts.spec);
    const paramCount = sizes.params;
    this.paramCount = paramCount;
    this.statsCount = sizes.stats;
    const maxTrainTasks = Math.ceil(opts.maxBatchSize / opts.microBatch);
    const evalCount = Math.max(opts.test.count, opts.val?.count ?? 0);
    const maxTasks = Math.max(maxTrainTasks, Math.ceil(evalCount / opts.evalMicroBatch), 1);
    const sab = {
      ctrl: new SharedArrayBuffer(Ctrl.SIZE * 4),
      params: new SharedArrayBuffer(paramCount * 4),
      state: new SharedArrayBuffer(sizes.state * 4),
      gradSlots: new SharedArrayBuffer(maxTrainTasks * paramCount * 4),
      statSlots: new SharedArrayBuffer(maxTrainTasks * sizes.stats * 4),
      taskStats: new SharedArrayBuffer(maxTasks * 2 * 8),
      permutation: new SharedArrayBuffer(Math.max(opts.train.count, 1) * 4),
      predictions: new SharedArrayBuffer(Math.max(evalCount, 1) * 4),
    };
    this.ctrl = new Int32Array(sab.ctrl);
    this.params = new Float32Array(sab.params);
    this.state = new Float32Array(sab.state);
    this.grads = new Float32Array(paramCount);
    this.gradSlots = new Float32Array(sab.gradSlots);
    this.statSlots = new Float32Array(sab.statSlots);
    this.taskStats = new Float64Array(sab.taskStats);
    this.permutation = new Int32Array(sab.permutation);
    this.predictions = new Int32Array(sab.predictions);
    this.failed = new Promise<never>((_, reject) => (this.rejectFailed = reject));
    this.failed.catch(() => undefined);
    const train = shareSplit(opts.train);
    const test = shareSplit(opts.test);
    const val = opts.val ? shareSplit(opts.val) : null;
    for (let i = 0; i < opts.workers; i++) {
      const init: WorkerInit = {
        workerIndex: i, layerDefs: opts.spec.layerDefs, origin: opts.spec.origin, layerModules: layerModules(), seed: opts.seed,
        microBatch: opts.microBatch, evalMicroBatch: opts.evalMicroBatch, preprocessing: opts.preprocessing, labelSmoothing: opts.labelSmoothing ?? 0,
        tta: opts.tta ?? 'none', augmentation: opts.augmentation, ...sab, train, test, val,
      };
      const w = new Worker(workerUrl(), { workerData: init });
      w.on('message', (m: { type: string; workerIndex: number; error: { message: string; stack?: string } }) => {
        if (m.type === 'error') this.fail(new WorkerFailure(`worker ${m.workerIndex} failed: ${m.error.message}`, { cause: m.error.stack }));
      });
      w.on('error', (e) => this.fail(new WorkerFailure(`worker ${i} crashed: ${e.message}`, { cause: e.stack })));
      w.on('exit', (code) => {
        if (!this.stopped) this.fail(new WorkerFailure(`worker ${i} exited unexpectedly (code ${code})`));
      });
      this.workers.push(w);
    }
  }

  get size(): number {
    return this.workers.length;
  }

  private fail(e: Error): void {
    if (this.failure) return;
    this.failure = e;
    this.rejectFailed(e);
  }

  /** Run one command on all workers and wait until every worker reports done (or one fails). */
  private async run(cmd: number, numTasks: number, fields: Partial<Record<'EPOCH' | 'STEP' | 'START' | 'COUNT' | 'SPLIT', number>>): Promise<void> {
    if (this.failure) throw this.failure;
    const c = this.ctrl;
    for (const [k, v] of Object.entries(fields)) c[Ctrl[k as keyof typeof Ctrl]] = v;
    c[Ctrl.CMD] = cmd;
    c[Ctrl.NUM_TASKS] = numTasks;
    Atomics.store(c, Ctrl.NEXT, 0);
    Atomics.store(c, Ctrl.DONE, 0);
    Atomics.store(c, Ctrl.ERROR, 0);
    Atomics.add(c, Ctrl.SEQ, 1);
    Atomics.notify(c, Ctrl.SEQ);
    const done = (async () => {
      for (let d = Atomics.load(c, Ctrl.DONE); d < this.workers.length; d = Atomics.load(c, Ctrl.DONE)) {
        const r = Atomics.waitAsync(c, Ctrl.DONE, d);
        if (r.async) await r.value;
      }
    })();
    await Promise.race([done, this.failed]);
    if (Atomics.load(c, Ctrl.ERROR) !== 0) {
      // The worker posted its error before marking done; give the message a moment to arrive.
      await Promise.race([this.failed, new Promise((r) => setTimeout(r, 1000))]);
      throw this.failure ?? new WorkerFailure('a worker failed');
    }
  }

  /**
   * Forward and backward of the mini-batch at permutation[start .. start+count): leaves the summed
   * gradient in `grads` (micro-batch slots added in order) and returns the summed loss and hits.
   */
  async trainStep(epoch: number, step: number, start: number, count: number): Promise<StepResult> {
    const micro = this.opts.microBatch;
    const tasks = Math.ceil(count / micro);
    await this.run(Command.TRAIN, tasks, { EPOCH: epoch, STEP: step, START: start, COUNT: count });
    const P = this.paramCount;
    const g = this.grads;
    g.set(this.gradSlots.subarray(0, P));
    const native = selectedNative();
    for (let t = 1; t < tasks; t++) {
      const slot = this.gradSlots.subarray(t * P, (t + 1) * P);
      if (native) native.addInto(g, slot);
      else for (let j = 0; j < P; j++) g[j] += slot[j];
    }
    let lossSum = 0;
    let correct = 0;
    for (let t = 0; t < tasks; t++) {
      lossSum += this.taskStats[t * 2];
      correct += this.taskStats[t * 2 + 1];
    }
    const S = this.statsCount;
    const stats = Array.from({ length: tasks }, (_, t) => this.statSlots.subarray(t * S, (t + 1) * S));
    const counts = Array.from({ length: tasks }, (_, t) => Math.min(micro, count - t * micro));
    return { lossSum, correct, stats, counts };
  }

  /** Evaluate records [0, count) of the test split (or the held-back validation split) with the current parameters. */
  async evaluate(count: number, split: 'test' | 'val' = 'test'): Promise<EvalResult> {
    const micro = this.opts.evalMicroBatch;
    const tasks = Math.ceil(count / micro);
    if (tasks === 0) return { lossSum: 0, correct: 0, predictions: new Int32Array(0) };
    if (split === 'val' && !this.opts.val) throw new Error('evaluate: this pool has no validation split');
    await this.run(Command.EVAL, tasks, { START: 0, COUNT: count, SPLIT: split === 'val' ? 1 : 0 });
    let lossSum = 0;
    let correct = 0;
    for (let t = 0; t < tasks; t++) {
      lossSum += this.taskStats[t * 2];
      correct += this.taskStats[t * 2 + 1];
    }
    return { lossSum, correct, predictions: this.predictions.slice(0, count) };
  }

  async close(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const c = this.ctrl;
    c[Ctrl.CMD] = Command.STOP;
    Atomics.add(c, Ctrl.SEQ, 1);
    Atomics.notify(c, Ctrl.SEQ);
    await Promise.all(this.workers.map((w) => new Promise<void>((resolve) => {
      const timer = setTimeout(() => void w.terminate().then(() => resolve()), 2000);
      w.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
    })));
  }
}
