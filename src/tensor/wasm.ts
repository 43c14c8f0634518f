/**
 * Loader for the WebAssembly SIMD kernels (src/tensor/wasm/: kernels.ts with simd.ts and the Winograd
 * convolutions winograd.ts and winograd4.ts, AssemblyScript, compiled by `npm run build:wasm` into
 * dist/tensor/wasm/kernels.wasm and kernels-relaxed.wasm).
 *
 * Which kernels run is chosen by the environment variable CNNVIZ_KERNELS:
 * - `native`: the wasm kernels below with the native ones (native.ts: AVX2 + FMA, on the same memory)
 *   in place of those they implement; throws if either cannot be loaded or the CPU lacks AVX2 / FMA.
 * - `wasm`: the WebAssembly SIMD kernels (convolution, direct and Winograd; ReLU; max pooling; batch
 *   norm; add; the layers without SIMD kernels run their TypeScript ones on wasm memory); throws if the
 *   module cannot be loaded.
 * - `js`: the plain TypeScript kernels of src/tensor/*.ts (the reference path).
 * Unset (the default): `native` when it loads, else `wasm` when the compiled module loads and the
 * engine has WebAssembly SIMD, otherwise `js`. kernelsLabel() names the choice.
 * Worker threads inherit the environment, so every replica of a run uses the same kernels (results
 * are deterministic for either choice, and independent of the number of workers).
 *
 * Two builds of the same source: kernels-relaxed.wasm (relaxed SIMD: f32x4.relaxed_madd, a fused
 * multiply-add on this hardware; Node 20 needs --experimental-wasm-relaxed-simd, set here before
 * compiling) is used when the engine accepts it, else kernels.wasm (plain SIMD128). Set
 * CNNVIZ_WASM_FMA=0 to force the plain build. Every thread of a process makes the same choice, so
 * replicas stay bit-identical; FMA rounds differently from mul+add, so the two builds agree to
 * float32 rounding, not bit for bit.
 *
 * Each Network owns one instance (its own linear memory): its activation buffers live inside that
 * memory, so the kernels read and write them in place. Memory is laid out by a bump allocator that is
 * reset whenever the network re-lays out its buffers; growing the memory detaches old views, so owners
 * keep addresses and read through `heap`, and make views only after allocating.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { nativeKernels, nativeUnavailableReason, type NativeKernels } from './native.js';

export type KernelKind = 'js' | 'wasm';

// The project's lib settings carry no WebAssembly typings (they come with the DOM lib): the little used here.
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
type WasmModule = object;
interface WasmApi {
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: Record<string, Record<string, unknown>>) => { exports: Record<string, unknown> };
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

export interface WasmExports {
  memory: WasmMemory;
  scratchFloats(): number;
  setScratch(base: number): void;
  sgemm(
    transA: number, transB: number, M: number, N: number, K: number, alpha: number,
    A: number, lda: number, B: number, ldb: number, beta: number, C: number, ldc: number,
  ): void;
  im2col(inC: number, inH: number, inW: number, kH: number, kW: number, stride: number, pad: number, outH: number, outW: number, input: number, col: number, ldcol: number): void;
  col2imAdd(inC: number, inH: number, inW: number, kH: number, kW: number, stride: number, pad: number, outH: number, outW: number, col: number, ldcol: number, grad: number): void;
  convForward(
    inC: number, inH: number, inW: number, kH: number, kW: number, pad: number, outC: number, outH: number, outW: number,
    W: number, input: number, padded: number, out: number,
  ): void;
  convBackwardFilter(
    inC: number, inH: number, inW: number, kH: number, kW: number, pad: number, outC: number, outH: number, outW: number,
    dy: number, input: number, padded: number, dW: number,
  ): void;
  convBackwardFilterDot(
    inC: number, inH: number, inW: number, kH: number, kW: number, pad: number, outC: number, outH: number, outW: number,
    dy: number, input: number, padded: number, dW: number,
  ): void;
  packConvDataWeights(inC: number, kH: number, kW: number, outC: number, W: number, Wp: number): void;
  convBackwardData(
    inC: number, inH: number, inW: number, kH: number, kW: number, pad: number, outC: number, outH: number, outW: number,
    Wp: number, dy: number, grad: number, padded: number,
  ): void;
  broadcastBias(n: number, channels: number, spatial: number, bias: number, out: number): void;
  biasGradAdd(n: number, channels: number, spatial: number, grad: number, biasGrad: number): void;
  reluForward(input: number, out: number, count: number): void;
  reluBackward(out: number, outGrad: number, inGrad: number, count: number): void;
  maxPoolForward(
    planes: number, inH: number, inW: number, kH: number, kW: number, stride: number, pad: number, outH: number, outW: number,
    input: number, output: number, argmax: number,
  ): void;
  maxPoolBackward(outCount: number, inCount: number, outputGrad: number, argmax: number, inputGrad: number): void;
  channelScaleShift(n: number, channels: number, spatial: number, input: number, scale: number, shift: number, out: number): void;
  batchNormForwardTrain(
    n: number, channels: number, spatial: number, input: number, gamma: number, beta: number, eps: number,
    mean: number, variance: number, invStd: number, out: number,
  ): void;
  batchNormBackward(
    n: number, channels: number, spatial: number, training: number,
    input: number, gamma: number, mean: number, invStd: number, dy: number, dx: number, sums: number,
  ): void;
  addTwo(count: number, a: number, b: number, out: number): void;
  /** Depthwise convolution (src/tensor/wasm/depthwise.ts): mult output channels per input channel. */
  depthwiseForward(
    n: number, inC: number, inH: number, inW: number, mult: number, kH: number, kW: number, stride: number, pad: number, outH: number, outW: number,
    input: number, W: number, bias: number, out: number,
  ): void;
  depthwiseBackward(
    n: number, inC: number, inH: number, inW: number, mult: number, kH: number, kW: number, stride: number, pad: number, outH: number, outW: number,
    input: number, W: number, dy: number, dx: number, hasDx: number, dW: number, db: number,
  ): void;
  winogradForward: WinogradForwardKernel;
  winogradBackward: WinogradBackwardKernel;
  /** F(4x4, 3x3): the same arguments, buffers sized for 36 planes (see conv2d-wasm.ts). */
  winograd4Forward: WinogradForwardKernel;
  winograd4Backward: WinogradBackwardKernel;
}

/**
 * Kernels of a layer fused with the ReLU that alone reads its output (native only): one pass over
 * memory instead of two. Forward writes only the ReLU's output; backward reads the ReLU's output and
 * output gradient where the unfused layer read its own output gradient (ReLU's backward).
 */
export interface FusedKernels {
  /** batchNormForwardTrain's arguments; `out` receives max(0, batch norm). */
  batchNormReluForwardTrain(
    n: number, channels: number, spatial: number, input: number, gamma: number, beta: number, eps: number,
    mean: number, variance: number, invStd: number, out: number,
  ): void;
  /** channelScaleShift, then max(0, .). */
  channelScaleShiftRelu(n: number, channels: number, spatial: number, input: number, scale: number, shift: number, out: number): void;
  /** batchNormBackward with dy = reluOutGrad where reluOut > 0, else 0. */
  batchNormReluBackward(
    n: number, channels: number, spatial: number, training: number,
    input: number, gamma: number, mean: number, invStd: number, reluOutGrad: number, dx: number, sums: number, reluOut: number,
  ): void;
  /** out = max(0, a + b). */
  addRelu(count: number, a: number, b: number, out: number): void;
}

/** The Winograd convolution kernels' contract (winograd.ts, winograd4.ts in the kernels). */
type WinogradForwardKernel = (
  n: number, C: number, H: number, W: number, K: number, weights: number, bias: number, input: number, out: number,
  uForward: number, uBackward: number, padded: number, patches: number, products: number, rowsPerChunk: number, tileCapacity: number,
  packed: number,
) => void;
type WinogradBackwardKernel = (
  n: number, C: number, H: number, W: number, K: number, weights: number, input: number, dy: number, dW: number, dX: number,
  uForward: number, uBackward: number, padded: number, patches: number, havePatches: number, products: number, uGrad: number,
  patchGrads: number, paddedGrad: number, rowsPerChunk: number, tileCapacity: number, packed: number,
) => void;

/** A compiled module file: beside this file in dist/, or in dist/ when running from TypeScript sources (tests). */
function wasmUrl(file: string): URL {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.ts')) return new URL(`../../dist/tensor/wasm/${file}`, import.meta.url);
  return new URL(`./wasm/${file}`, import.meta.url);
}

let compiled: WasmModule | null | undefined;
let variant: 'relaxed-simd' | 'simd' | 'none' = 'none';
let loadError = '';

/** The compiled module, or null (with the reason in `wasmUnavailableReason`) when it cannot be loaded. */
export function wasmModule(): WasmModule | null {
  if (compiled !== undefined) return compiled;
  compiled = null;
  if (process.env.CNNVIZ_WASM_FMA !== '0') {
    try {
      setFlagsFromString('--experimental-wasm-relaxed-simd');
      compiled = new WA.Module(readFileSync(wasmUrl('kernels-relaxed.wasm')));
      variant = 'relaxed-simd';
    } catch {
      compiled = null; // no relaxed SIMD in this engine (or not built): the plain SIMD build below
    }
  }
  if (!compiled) {
    try {
      compiled = new WA.Module(readFileSync(wasmUrl('kernels.wasm')));
      variant = 'simd';
    } catch (e) {
      loadError = e instanceof Error ? e.message : String(e);
    }
  }
  return compiled;
}

/** Which build is loaded: 'relaxed-simd' (FMA), 'simd', or 'none'. */
export function wasmVariant(): 'relaxed-simd' | 'simd' | 'none' {
  wasmModule();
  return variant;
}

export function wasmUnavailableReason(): string {
  wasmModule();
  return loadError;
}

/**
 * Where the kernels work, from CNNVIZ_KERNELS (see the file comment): 'wasm' (wasm memory: the wasm
 * kernels, with or without the native ones) or 'js'.
 */
export function kernelKind(): KernelKind {
  const env = process.env.CNNVIZ_KERNELS;
  if (env === 'js') return 'js';
  if (env === 'wasm' || env === 'native') {
    if (!wasmModule()) throw new Error(`CNNVIZ_KERNELS=${env} but the WebAssembly kernels cannot be loaded: ${wasmUnavailableReason()} (run npm run build)`);
    if (env === 'native' && !nativeKernels()) throw new Error(`CNNVIZ_KERNELS=native but the native kernels are unavailable: ${nativeUnavailableReason()}`);
    return 'wasm';
  }
  if (env !== undefined && env !== '') throw new Error(`CNNVIZ_KERNELS must be native, wasm or js, got ${env}`);
  return wasmModule() ? 'wasm' : 'js';
}

/** The native kernels when CNNVIZ_KERNELS selects them (native, or unset and they load), else null. */
export function selectedNative(): NativeKernels | null {
  if (kernelKind() !== 'wasm') return null;
  const env = process.env.CNNVIZ_KERNELS;
  return env === 'wasm' ? null : nativeKernels();
}

/** Which kernels run, for the bench and run.json: "native avx2+fma, wasm relaxed-simd", "wasm simd", "js". */
export function kernelsLabel(): string {
  if (kernelKind() === 'js') return 'js';
  return `${selectedNative() ? 'native avx2+fma, ' : ''}wasm ${wasmVariant()}`;
}

const PAGE = 65536;
/** Allocations are aligned to a cache line. */
const ALIGN = 64;

/** One instance of the kernels with its own linear memory and a bump allocator over it. */
export class WasmKernels {
  readonly x: WasmExports;
  /** Layer + ReLU kernels, with the native kernels only (else null: the layers run unfused). */
  readonly fused: FusedKernels | null;
  readonly memory: WasmMemory;
  private readonly base: number;
  private top: number;
  private view: Float32Array;

  /**
   * native: kernels that replace the wasm ones of the same name (called on this instance's memory).
   * The one place where native and wasm kernels are chosen: every caller goes through `x`.
   */
  constructor(module: WasmModule, readonly native: NativeKernels | null = null) {
    const instance = new WA.Instance(module, {
      env: {
        abort: () => {
          throw new Error('wasm kernels: abort');
        },
      },
    });
    const wasm = instance.exports as unknown as WasmExports;
    this.memory = wasm.memory;
    // The module keeps no data of its own; start above its first page, then the gemm scratch.
    this.top = PAGE;
    const scratch = this.alloc(wasm.scratchFloats());
    wasm.setScratch(scratch);
    if (native) {
      // The buffer is read at each call: growing the memory replaces it. The native gemm packs into
      // the wasm module's scratch.
      const memory = this.memory;
      this.x = {
        ...wasm,
        sgemm: (...a) => native.sgemm(memory.buffer, scratch, ...a),
        winograd4Forward: (...a) => native.winograd4Forward(memory.buffer, ...a),
        winograd4Backward: (...a) => native.winograd4Backward(memory.buffer, ...a),
        im2col: (...a) => native.im2col(memory.buffer, ...a),
        col2imAdd: (...a) => native.col2imAdd(memory.buffer, ...a),
        reluForward: (...a) => native.reluForward(memory.buffer, ...a),
        reluBackward: (...a) => native.reluBackward(memory.buffer, ...a),
        addTwo: (...a) => native.addTwo(memory.buffer, ...a),
        batchNormForwardTrain: (...a) => native.batchNormForwardTrain(memory.buffer, ...a),
        channelScaleShift: (...a) => native.channelScaleShift(memory.buffer, ...a),
        batchNormBackward: (...a) => native.batchNormBackward(memory.buffer, ...a),
      };
      this.fused = {
        batchNormReluForwardTrain: (...a) => native.batchNormReluForwardTrain(memory.buffer, ...a),
        channelScaleShiftRelu: (...a) => native.channelScaleShiftRelu(memory.buffer, ...a),
        batchNormReluBackward: (...a) => native.batchNormReluBackward(memory.buffer, ...a),
        addRelu: (...a) => native.addRelu(memory.buffer, ...a),
      };
    } else {
      this.x = wasm;
      this.fused = null;
    }
    this.base = this.top;
    this.view = new Float32Array(this.memory.buffer);
  }

  /** A new instance when the wasm kernels are selected, else null. */
  static forSelectedKernels(): WasmKernels | null {
    if (kernelKind() !== 'wasm') return null;
    return new WasmKernels(wasmModule()!, selectedNative());
  }

  /** Reserve `floats` float32 values; returns the byte address. May grow (and so detach) the memory. */
  alloc(floats: number): number {
    const ptr = this.top;
    this.top = ptr + Math.ceil((floats * 4) / ALIGN) * ALIGN;
    const need = this.top - this.memory.buffer.byteLength;
    if (need > 0) this.memory.grow(Math.ceil(need / PAGE));
    return ptr;
  }

  /** Forget every allocation made after construction (the owner lays its buffers out again). */
  reset(): void {
    this.top = this.base;
  }

  /** Bytes in use. */
  get used(): number {
    return this.top;
  }

  /** The whole memory as float32 (index = byte address / 4); refreshed after the memory grows. */
  get heap(): Float32Array {
    if (this.view.buffer !== this.memory.buffer) this.view = new Float32Array(this.memory.buffer);
    return this.view;
  }

  /** A view of `length` floats at byte address `ptr` (invalid once the memory grows). */
  f32(ptr: number, length: number): Float32Array {
    return new Float32Array(this.memory.buffer, ptr, length);
  }

  /** Whether `a` is a view into this instance's memory (so its byteOffset is its address). */
  owns(a: Float32Array): boolean {
    return a.buffer === this.memory.buffer;
  }
}
