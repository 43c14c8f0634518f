/**
 * Loader for the optional native kernels (src/tensor/native/*.c: a Node-API addon built by
 * `npm run build:native` into dist/tensor/native/kernels.node with AVX2 and FMA). They run on the
 * WebAssembly kernels' memory (each takes the memory's ArrayBuffer, then the wasm kernel's own
 * arguments), so buffers and layouts are the wasm path's and the wasm kernels do everything the native
 * ones do not. Used only on a CPU with AVX2 and FMA (the addon checks) and when the addon loads: a
 * missing or unloadable addon leaves the WebAssembly kernels, as on other machines.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** The addon's exports (src/tensor/native/addon.c). */
export interface NativeKernels {
  /** Whether this CPU has AVX2 and FMA; nothing else may be called when false. */
  readonly supported: boolean;
  /** winograd4Forward of the wasm kernels (winograd4.ts), on `memory`. */
  winograd4Forward(memory: ArrayBuffer, ...args: number[]): void;
  winograd4Backward(memory: ArrayBuffer, ...args: number[]): void;
  /** sgemm of the wasm kernels (kernels.ts), packing into the wasm module's scratch at byte address `scratch`. */
  sgemm(memory: ArrayBuffer, scratch: number, ...args: number[]): void;
  /** im2col and col2imAdd of the wasm kernels (kernels.ts), on `memory`. */
  im2col(memory: ArrayBuffer, ...args: number[]): void;
  col2imAdd(memory: ArrayBuffer, ...args: number[]): void;
  /** Batch norm, ReLU and add (norm.c): the wasm kernels of the same names, on `memory`. */
  reluForward(memory: ArrayBuffer, ...args: number[]): void;
  reluBackward(memory: ArrayBuffer, ...args: number[]): void;
  addTwo(memory: ArrayBuffer, ...args: number[]): void;
  batchNormForwardTrain(memory: ArrayBuffer, ...args: number[]): void;
  channelScaleShift(memory: ArrayBuffer, ...args: number[]): void;
  batchNormBackward(memory: ArrayBuffer, ...args: number[]): void;
  /** Fused with the ReLU after them (norm.c), see FusedKernels in wasm.ts. */
  batchNormReluForwardTrain(memory: ArrayBuffer, ...args: number[]): void;
  channelScaleShiftRelu(memory: ArrayBuffer, ...args: number[]): void;
  batchNormReluBackward(memory: ArrayBuffer, ...args: number[]): void;
  addRelu(memory: ArrayBuffer, ...args: number[]): void;
  /**
   * The optimizer's sgd / nesterov step over one parameter range (update.c), bit for bit as the
   * TypeScript loop; decaySums gets [sum |p|, sum p^2] of the parameters before the step.
   */
  sgdStep(
    params: Float32Array, grads: Float32Array, gsum: Float32Array, lr: number, momentum: number, l1: number, l2: number, wd: number,
    invBatch: number, nesterov: number, decaySums: Float64Array,
  ): void;
  /** dst += src (float32 sums, as the TypeScript loop rounds them). */
  addInto(dst: Float32Array, src: Float32Array): void;
}

/** The addon: beside this file in dist/, or in dist/ when running from TypeScript sources (tests). */
function addonPath(): string {
  const here = fileURLToPath(import.meta.url);
  const rel = here.endsWith('.ts') ? '../../dist/tensor/native/kernels.node' : './native/kernels.node';
  return fileURLToPath(new URL(rel, import.meta.url));
}

let loaded: NativeKernels | null | undefined;
let loadError = '';

/** The native kernels when they load and this CPU runs them, else null (the reason in nativeUnavailableReason). */
export function nativeKernels(): NativeKernels | null {
  if (loaded !== undefined) return loaded;
  loaded = null;
  const path = addonPath();
  if (!existsSync(path)) {
    loadError = 'not built (npm run build needs gcc and Node\'s headers on x86-64)';
    return null;
  }
  try {
    const addon = createRequire(import.meta.url)(path) as NativeKernels;
    if (addon.supported) loaded = addon;
    else loadError = 'this CPU lacks AVX2 or FMA';
  } catch (e) {
    loadError = `cannot be loaded: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`;
  }
  return loaded;
}

export function nativeUnavailableReason(): string {
  nativeKernels();
  return loadError;
}
