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
