/**
 * Memory a network needs, estimated from its spec before anything is allocated, and the check that
 * refuses a run (exit 2, one line with the estimate and the limit) instead of failing half-way with
 * "Invalid typed array length" or "Array buffer allocation failed", or swapping the machine to death.
 *
 * The estimate counts the big buffers (float32 unless noted): parameters, gradients, optimizer state,
 * per-replica activations and activation gradients, convolution scratch (one image's im2col), the
 * micro-batch gradient slots of the pool, the data set bytes, worker and picture baselines, and the
 * Winograd convolutions' per-sample buffers (padded input and gradient, transformed patches). It errs on the
 * high side by the V8 baseline (BASELINE_BYTES); small objects are not counted.
 */
import { totalmem } from 'node:os';
import { constants as bufferConstants } from 'node:buffer';
import { UserError } from '../util/errors.js';
import { layerDef } from './layers/registry.js';
import { inputShapes, paramCountOf, type ModelSpec } from './spec.js';

/** Node, V8 and the loaded modules before any of our buffers. */
export const BASELINE_BYTES = 100 * 2 ** 20;
/**
 * Each worker thread's own V8 isolate and WebAssembly instance, and the picture encoders (4 pictures in
 * flight, sharp's threads). Measured with /usr/bin/time -v on the preset, --train-limit 5000, real
 * CIFAR-10: 1 worker without pictures peaks at 182 MiB RSS (estimate with these: 207 MiB); 2 workers
 * with pictures at 352 MiB (estimate: 406 MiB). The estimate is meant to err on the high side.
 */
export const WORKER_BASELINE_BYTES = 40 * 2 ** 20;
export const PICTURES_BYTES = 128 * 2 ** 20;
/** A WebAssembly (wasm32) instance addresses at most 4 GiB: one replica's activations must fit. */
export const WASM_MEMORY_BYTES = 2 ** 32;

/** Trainable parameters of a spec, counted without allocating the network. */
export function specParamCount(spec: ModelSpec): number {
  return spec.layers.reduce((total, _layer, i) => total + paramCountOf(spec, i), 0);
}

/** Per-sample facts of a network that decide its buffer sizes. */
export interface NetworkFootprint {
  params: number;
  /** Values of all layers' outputs for one sample (activations; their gradients are as many). */
  activationValues: number;
  /** Largest scratch buffer one layer needs at a time for one sample (conv: its im2col), values. */
  scratchValues: number;
  /** Values of one input sample. */
  inputValues: number;
  /** Largest single layer output for one sample (values). */
  largestLayerValues: number;
  /** Per-sample scratch kept per layer (the Winograd convolutions' buffers), values. */
  winogradValues: number;
}

export function networkFootprint(spec: ModelSpec): NetworkFootprint {
  let activationValues = 0;
  let scratchValues = 0;
  let largestLayerValues = 0;
  let winogradValues = 0;
  spec.layers.forEach((layer, i) => {
    const [c, h, w] = spec.shapes[i];
    const size = c * h * w;
    activationValues += size;
    largestLayerValues = Math.max(largestLayerValues, size);
    // Each layer type estimates its own scratch (conv: im2col, and the Winograd kernels' buffers).
    const scratch = layerDef(layer.type).scratch?.(layer, inputShapes(spec, i), spec.shapes[i]);
    if (scratch) {
      scratchValues = Math.max(scratchValues, scratch.shared);
      winogradValues += scratch.perSample;
    }
  });
  const [c, h, w] = spec.shapes[0];
  return { params: specParamCount(spec), activationValues, scratchValues, inputValues: c * h * w, largestLayerValues, winogradValues };
}

/** Bytes one network replica needs for batches of n samples (its own gradients, not its parameters). */
export function replicaBytes(fp: NetworkFootprint, n: number): number {
  return 4 * (fp.params + 2 * n * fp.activationValues + 2 * fp.scratchValues + n * fp.inputValues + n * fp.winogradValues);
}

export interface TrainingMemoryPlan {
  /** Images per optimizer step, already clamped to the training images. */
  batchSize: number;
  microBatch: number;
  evalMicroBatch: number;
  workers: number;
  trainImages: number;
  testImages: number;
  /** Bytes of one stored image (CIFAR: 3072). */
  imageBytes: number;
  probeCount: number;
}

export interface MemoryEstimate {
  bytes: number;
  /** The biggest parts, for the message. */
  parts: { what: string; bytes: number }[];
  /** Largest single buffer (bytes): must also fit a typed array. */
  largestBuffer: number;
  /** One replica's activation memory (bytes), for the WebAssembly 4 GiB check. */
  replicaActivations: number;
}

function estimate(parts: { what: string; bytes: number }[], largestBuffer: number, replicaActivations: number): MemoryEstimate {
  const sorted = parts.filter((p) => p.bytes > 0).sort((a, b) => b.bytes - a.bytes);
  return { bytes: BASELINE_BYTES + sorted.reduce((a, p) => a + p.bytes, 0), parts: sorted, largestBuffer, replicaActivations };
}

/** Memory of a training run: main thread, worker replicas, shared buffers, data and checkpoints. */
export function trainingMemory(spec: ModelSpec, plan: TrainingMemoryPlan): MemoryEstimate {
  const fp = networkFootprint(spec);
  const P = fp.params;
  const micro = Math.max(1, Math.min(plan.microBatch, plan.batchSize));
  const perWorkerBatch = Math.max(micro, plan.evalMicroBatch);
  const slots = Math.max(1, Math.ceil(plan.batchSize / micro));
  const parts = [
    // Shared params, summed gradient, main replica gradients, optimizer gsum + xsum, checkpoint copy.
    { what: 'parameters, gradients and optimizer state', bytes: 4 * P * 6 },
    { what: `${slots} micro-batch gradient slot(s)`, bytes: 4 * P * slots },
    { what: `${plan.workers} worker replica(s) (batches of ${perWorkerBatch})`, bytes: plan.workers * replicaBytes(fp, perWorkerBatch) },
    { what: `probe pass (${plan.probeCount} images)`, bytes: 2 * replicaBytes(fp, plan.probeCount) - 4 * P },
    { what: 'training and test images', bytes: (plan.trainImages + plan.testImages) * (plan.imageBytes + 5) },
    { what: `${plan.workers} worker thread(s) (V8 and WebAssembly baseline)`, bytes: plan.workers * WORKER_BASELINE_BYTES },
    { what: 'picture drawing', bytes: plan.probeCount > 0 ? PICTURES_BYTES : 0 },
  ];
  const largest = Math.max(4 * P * slots, 4 * perWorkerBatch * fp.largestLayerValues, 4 * fp.scratchValues, 4 * P * 4);
  return estimate(parts, largest, 4 * (2 * perWorkerBatch * fp.activationValues + 2 * fp.scratchValues));
}

/** Memory of one forward and backward pass of n samples on the main thread (predict, visualize). */
export function inferenceMemory(spec: ModelSpec, n: number, extra: { what: string; bytes: number }[] = []): MemoryEstimate {
  const fp = networkFootprint(spec);
  const parts = [
    { what: 'parameters and gradients', bytes: 4 * fp.params * 2 },
    { what: `activations of ${n} sample(s) (and copies for the pictures)`, bytes: 2 * (replicaBytes(fp, n) - 4 * fp.params) },
    ...extra,
  ];
  const largest = Math.max(4 * fp.params, 4 * n * fp.largestLayerValues, 4 * fp.scratchValues);
  return estimate(parts, largest, 4 * (2 * n * fp.activationValues + 2 * fp.scratchValues));
}

/**
 * Memory to import an ONNX file (`--model model.onnx`), checked before the file is read and again once its
 * initializers are known, before they are copied: the file, its decoded protobuf (at most twice the file:
 * raw tensor bytes are views, float_data becomes arrays of 8-byte numbers), and the weights three times as
 * float32 (the import's copies, the network's parameters and their gradients). Before decoding,
 * `weightValues` is bounded by the file (at most fileBytes / 4 float32 values).
 */
export function onnxImportMemory(fileBytes: number, weightValues = fileBytes / 4): MemoryEstimate {
  return estimate(
    [
      { what: 'the file and its decoded tensors', bytes: 3 * fileBytes },
      { what: `${Math.round(weightValues).toLocaleString('en-US')} weights as float32 (import, parameters, gradients)`, bytes: 12 * weightValues },
    ],
    Math.max(fileBytes, 4 * weightValues),
    0,
  );
}

// ---------------------------------------------------------------------------------------------------
// The limit

let configuredLimit: number | undefined;

/** Set by `--max-memory` (bytes); undefined = the machine's memory. */
export function setMemoryLimit(bytes: number | undefined): void {
  configuredLimit = bytes;
}

/** The machine's memory: physical memory, or the container's (cgroup) limit when smaller. */
export function machineMemory(): number {
  const total = totalmem();
  const constrained = typeof process.constrainedMemory === 'function' ? process.constrainedMemory() : 0;
  return constrained && constrained > 0 && constrained < total ? constrained : total;
}

export function memoryLimit(): { bytes: number; source: string } {
  return configuredLimit !== undefined ? { bytes: configuredLimit, source: '--max-memory' } : { bytes: machineMemory(), source: "the machine's memory" };
}

/** "1.5 GiB", "320 MiB". */
export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${Math.round(v)} bytes` : `${v < 10 ? v.toFixed(1) : Math.round(v).toLocaleString('en-US')} ${units[u]}`;
}

/** Largest typed array Node can allocate (bytes). */
const MAX_BUFFER = bufferConstants.MAX_LENGTH;

/**
 * Refuse (UserError, exit 2) when `need` exceeds the memory limit, a single buffer exceeds what a typed
 * array can hold, or (with the WebAssembly kernels) one replica's activations exceed 4 GiB.
 * `what` names the thing being refused, e.g. "spec.json with --batch-size 64".
 */
export function assertMemoryFits(need: MemoryEstimate, what: string, opts: { wasm?: boolean; hint?: string } = {}): void {
  const limit = memoryLimit();
  const top = need.parts.slice(0, 2).map((p) => `${p.what} ${formatBytes(p.bytes)}`).join(', ');
  const hint = opts.hint ? `; ${opts.hint}` : '';
  if (!Number.isFinite(need.bytes) || need.bytes > limit.bytes) {
    throw new UserError(
      `${what} needs about ${formatBytes(need.bytes)} of memory (${top}), more than the limit of ${formatBytes(limit.bytes)} ` +
        `(${limit.source}${limit.source === '--max-memory' ? '' : '; --max-memory sets another'})${hint}`,
    );
  }
  if (need.largestBuffer > MAX_BUFFER) {
    throw new UserError(`${what} needs a single buffer of ${formatBytes(need.largestBuffer)}, more than the ${formatBytes(MAX_BUFFER)} one buffer can hold${hint}`);
  }
  if (opts.wasm && need.replicaActivations > WASM_MEMORY_BYTES) {
    throw new UserError(
      `${what} needs ${formatBytes(need.replicaActivations)} of activations per worker, more than the 4 GiB a WebAssembly instance ` +
        `can address${hint || '; use a smaller --micro-batch'} (or CNNVIZ_KERNELS=js)`,
    );
  }
}
