/**
 * Convolution on the WebAssembly SIMD kernels: the same contract as conv2dForward / conv2dBackward in
 * conv2d.ts (NCHW, zero padding, any kernel / stride / channels), with every tensor at a byte address
 * in one WasmKernels instance's memory.
 *
 * Stride-1 convolutions with output rows of a multiple of 8 (implicitForward) never unfold the input:
 * the forward and weight-gradient gemms pack their panels straight from a zero-padded copy of the
 * sample (convForward, convBackwardFilter). Other convolutions unfold each sample with
 * im2col into its own slice of `cols` ([n][K][P]) and keep it (up to COL_CACHE_SAMPLES samples), so the
 * backward pass reuses the unfolded input instead of unfolding again:
 *   out_b[outC, P] = bias + W[outC, K] * col_b                  (one gemm per sample)
 *   dW[outC, K]   += dY_b[outC, P] * col_b^T                    (accumulated sample by sample)
 *   db[o]         += sum dY[:, o, :]
 *   dcol[K, P]     = W^T * dY_b,  dX_b = col2im(dcol)   (fused into one kernel when fusedInputGrad)
 * A 1x1 / stride 1 / pad 0 convolution skips im2col. 3x3 / stride 1 / pad 1 convolutions of enough
 * channels take Winograd instead: F(4x4, 3x3) where rows are a multiple of 16 (winograd4.ts in the
 * kernels: 4x fewer multiplies), else F(2x2, 3x3) (winograd.ts: 2.25x fewer).
 * Summation order depends only on the shapes.
 */
import type { Conv2dDims } from './conv2d.js';
import type { WasmKernels } from './wasm.js';

/** Byte addresses of a conv layer's buffers in wasm memory. */
export interface ConvWasmBuffers {
  weights: number;
  bias: number;
  weightGrad: number;
  biasGrad: number;
  /** colSlots unfolded samples, K rows of ldcol floats each (none for pointwise and implicitForward convs). */
  cols: number;
  colSlots: number;
  /** Row stride of cols and dcol (floats): see colStride. */
  ldcol: number;
  /** K rows of ldcol floats for the input gradient of one sample before col2im (0 when fusedInputGrad). */
  dcol: number;
  /**
   * The zero-padded input of one sample for convForward and the weight gradient (0 unless
   * implicitForward); with fusedInputGrad also the zero-padded input gradient of one sample.
   */
  padded: number;
  /** The weights packed for convBackwardData (packConvDataWeights), once per backward (0 unless fusedInputGrad). */
  wPacked: number;
  /** Samples whose cols are valid (set by forward). */
  colsFor: { input: number; n: number };
  /** Buffers of the Winograd path (null when the layer does not take it). */
  winograd: WinogradBuffers | null;
}

/** Scratch of the Winograd kernels for one layer (byte addresses; see src/tensor/wasm/winograd.ts). */
export interface WinogradBuffers {
  /** Output tile size: 2 for F(2x2, 3x3), 4 for F(4x4, 3x3); the transforms have (tile + 2)^2 planes. */
  tile: 2 | 4;
  /** The transformed weights U packed for the forward and for the input gradient (planes*outC*inC floats each). */
  uForward: number;
  uBackward: number;
  /**
   * F(2x2): the zero-padded input and the padded input gradient (n*inC*(inH+2)*(inW+2) floats each).
   * F(4x4): a zero-bordered strip of one band of the input, and one of the gradient plus its carried rows.
   */
  padded: number;
  paddedGrad: number;
  /**
   * Transformed input patches of every chunk of the batch (chunks*planes*(inC*tileCapacity+16) floats:
   * the forward's are kept for the backward), their gradients for one chunk (planes*(inC*tileCapacity+16)),
   * and one chunk's transformed outputs / output gradients (planes*(outC*tileCapacity+16)).
   */
  patches: number;
  patchGrads: number;
  products: number;
  /** The input (address, batch size) whose patches are in `patches` (set by forward, like colsFor). */
  patchesFor: { input: number; n: number };
  /**
   * The weights version (the caller's key, see conv2dForwardWasm) whose transform is in uForward, and in
   * uBackward; NaN: none or unknown.
   */
  packedFor: { forward: number; backward: number };
  /** The weight gradient in the transformed domain (planes*outC*inC floats). */
  uGrad: number;
  /** Tile rows per chunk, and the chunk's tile capacity (a multiple of 8). */
  rowsPerChunk: number;
  tileCapacity: number;
}

/**
 * Whether a convolution takes the Winograd kernels: 3x3, stride 1, pad 1 (output the size of the
 * input), rows of a multiple of 8 (4 tiles per SIMD vector), an even height, and channel counts of a
 * multiple of 4 with at least 8 input channels (with fewer, the transforms cost more than the
 * multiplies saved: a first layer on RGB stays direct). CNNVIZ_WINOGRAD=0 turns it off (benchmarks).
 */
export function winogradConv(d: Conv2dDims): boolean {
  if (process.env.CNNVIZ_WINOGRAD === '0') return false;
  return d.kH === 3 && d.kW === 3 && d.stride === 1 && d.pad === 1 && d.outH === d.inH && d.outW === d.inW
    && d.inW % 8 === 0 && d.inH % 2 === 0 && d.inC % 4 === 0 && d.outC % 4 === 0 && d.inC >= 8;
}

/**
 * The output tile of a Winograd convolution: 4 (F(4x4, 3x3): 36 multiplies per 16 outputs) when 4 tiles
 * fit a SIMD vector (rows of a multiple of 16 and a height of a multiple of 4, or 8x8 planes taken as 2x2
 * tiles, heights a multiple of 8), else 2 (F(2x2, 3x3): 16 per 4). CNNVIZ_WINOGRAD=2 keeps F(2x2)
 * everywhere (benchmarks).
 */
export function winogradTile(d: Conv2dDims): 2 | 4 {
  if (process.env.CNNVIZ_WINOGRAD === '2') return 2;
  return (d.inW % 16 === 0 && d.inH % 4 === 0) || (d.inW === 8 && d.inH % 8 === 0) ? 4 : 2;
}

/**
 * How the Winograd kernels walk a plane: in bands of whole tile rows (one tile row; for F(4x4) on 8-wide
 * planes two, the 2x2 tiles in one SIMD vector), `bandTiles` tiles per band, `bandsPerSample` per sample.
 */
function winogradBands(d: Conv2dDims, tile: 2 | 4): { bandTiles: number; bandsPerSample: number } {
  if (tile === 4 && d.inW === 8) return { bandTiles: 4, bandsPerSample: d.inH / 8 };
  return { bandTiles: d.inW / tile, bandsPerSample: d.inH / tile };
}

/**
 * Tiles per chunk: the chunk's transformed input and output (planes x (inC + outC) x tiles floats) kept
 * to about 384 KiB, well inside this machine's 1 MiB L2 cache per core; whole bands, a multiple of 8
 * tiles (the gemm's register tile).
 */
function winogradChunk(d: Conv2dDims, tile: 2 | 4): { rowsPerChunk: number; tileCapacity: number } {
  const { bandTiles: tilesPerRow, bandsPerSample } = winogradBands(d, tile);
  const planes = (tile + 2) ** 2;
  const target = Math.floor(98304 / (planes * (d.inC + d.outC)));
  let rows = Math.max(1, Math.floor(target / tilesPerRow));
  if ((rows * tilesPerRow) % 8 !== 0) rows += 1;
  rows = Math.min(rows, d.n * bandsPerSample);
  return { rowsPerChunk: rows, tileCapacity: Math.ceil((rows * tilesPerRow) / 8) * 8 };
}

/** Floats between the 16 planes of a transformed chunk beyond its size (xiStride in winograd.ts). */
const XI_PAD = 16;

function allocWinograd(wk: WasmKernels, d: Conv2dDims, n: number): WinogradBuffers {
  const tile = winogradTile(d);
  const planes = (tile + 2) ** 2;
  const { rowsPerChunk, tileCapacity } = winogradChunk({ ...d, n }, tile);
  // F(2x2): zero-padded copies of the input and its gradient. F(4x4): strips of one band (a tile row, or
  // two for 8-wide planes: up to 10 rows of inW + 4 floats), and the gradient's carried rows (2 per channel).
  const paddedFloats = n * d.inC * (d.inH + 2) * (d.inW + 2);
  const stripFloats = 10 * (d.inW + 4);
  // The native F(4x4) kernels transform each chunk's input in one slot and again in backward (writing
  // every chunk's patches out and reading them back cost more); the wasm ones keep the batch's.
  const chunks = wk.native && tile === 4 ? 1 : Math.ceil((n * winogradBands(d, tile).bandsPerSample) / rowsPerChunk);
  return {
    tile,
    uForward: wk.alloc(planes * d.outC * d.inC),
    uBackward: wk.alloc(planes * d.outC * d.inC),
    padded: wk.alloc(tile === 4 ? stripFloats : paddedFloats),
    paddedGrad: wk.alloc(tile === 4 ? stripFloats + 2 * d.inC * (d.inW + 4) : paddedFloats),
    patches: wk.alloc(chunks * planes * (d.inC * tileCapacity + XI_PAD)),
    patchGrads: wk.alloc(planes * (d.inC * tileCapacity + XI_PAD)),
    products: wk.alloc(planes * (d.outC * tileCapacity + XI_PAD)),
    patchesFor: { input: -1, n: 0 },
    packedFor: { forward: NaN, backward: NaN },
    uGrad: wk.alloc(planes * d.outC * d.inC),
    rowsPerChunk,
    tileCapacity,
  };
}

function pointwise(d: Conv2dDims): boolean {
  return d.kH === 1 && d.kW === 1 && d.stride === 1 && d.pad === 0;
}

/**
 * Whether the forward packs the gemm's unfolded input straight from the input (convForward: no im2col
 * pass, nothing of K x P size written): stride 1 and output rows of a multiple of 8 positions. The
 * weight gradient packs im2col(input)^T the same way (convBackwardFilter), so nothing is kept from
 * forward to backward. CIFAR net, one sample: forward im2col + gemm 77 / 129 / 49 us -> convForward
 * 62 / 97 / 31 us (conv1 / conv2 / conv3); whole-network backward 484 -> 444 us per image without the
 * backward im2col.
 */
export function implicitForward(d: Conv2dDims): boolean {
  return !pointwise(d) && d.stride === 1 && d.outW % 8 === 0;
}

/**
 * Implicit convolutions with output rows at least this long take the weight gradient as dot products
 * along the rows (convBackwardFilterDot, nothing packed) rather than as a packed gemm: with 8+ vector
 * steps per row it is faster (CIFAR conv1, 32-wide rows: 76 -> 64 us per sample); with 16- or 8-wide
 * rows (conv2, conv3) the per-row loop overhead makes it slower (109 -> 134, 37 -> 60 us).
 */
export const DOT_FILTER_MIN_OUT_W = 32;

/**
 * Whether the input gradient goes through the fused kernel convBackwardData (W^T * dY added tile by
 * tile into dX, no dcol matrix to zero, write and read back): stride 1, inC a multiple of 4 and output
 * rows of a multiple of 8 positions (see the kernel). CIFAR net, one sample: conv2 dcol gemm + zero +
 * col2im 139 -> 110 us, conv3 53 -> 40 us.
 */
export function fusedInputGrad(d: Conv2dDims): boolean {
  return !pointwise(d) && d.stride === 1 && d.outW % 8 === 0 && d.inC % 4 === 0;
}

/**
 * Row stride of an unfolded sample: P, plus 16 floats when P is a multiple of 64. Rows a multiple of
 * 4 KiB apart (conv1: P = 32*32 = 1024 floats) all fall in the same L1 cache sets, so packing a gemm
 * panel (one short run from each of kc rows) keeps evicting itself: padding made the conv1 forward
 * gemm 83 -> 62 us per sample. The padding is never read, so results are unchanged.
 */
export function colStride(P: number): number {
  return P % 64 === 0 ? P + 16 : P;
}

/**
 * At most this many samples' unfolded input is kept from forward to backward (for the CIFAR network
 * ~0.8 MB per sample). Training micro-batches are smaller; a larger batch (evaluation, 50 by default,
 * which never runs backward) unfolds every sample into slot 0 and backward unfolds again.
 */
export const COL_CACHE_SAMPLES = 16;

/**
 * Reserve a conv layer's buffers for batches of up to n samples. `params`: where its weights and bias
 * already are in wasm memory (a network keeps one copy of every parameter there); else reserved here.
 */
export function allocConvWasm(wk: WasmKernels, d: Conv2dDims, n: number, params?: { weights: number; bias: number }): ConvWasmBuffers {
  const K = d.inC * d.kH * d.kW;
  const parameters = {
    weights: params ? params.weights : wk.alloc(d.outC * K),
    bias: params ? params.bias : wk.alloc(d.outC),
    weightGrad: wk.alloc(d.outC * K),
    biasGrad: wk.alloc(d.outC),
    colsFor: { input: -1, n: 0 },
  };
  if (winogradConv(d)) {
    return { ...parameters, cols: 0, colSlots: 0, ldcol: 0, dcol: 0, padded: 0, wPacked: 0, winograd: allocWinograd(wk, d, Math.max(n, 1)) };
  }
  const P = d.outH * d.outW;
  const pw = pointwise(d);
  const colSlots = implicitForward(d) ? 0 : Math.min(Math.max(n, 1), COL_CACHE_SAMPLES);
  const ldcol = colStride(P);
  return {
    ...parameters,
    cols: pw || implicitForward(d) ? 0 : wk.alloc(colSlots * K * ldcol),
    colSlots,
    ldcol,
    dcol: pw || fusedInputGrad(d) ? 0 : wk.alloc(K * ldcol),
    padded: implicitForward(d) ? wk.alloc(d.inC * (d.inH + 2 * d.pad) * (d.inW + 2 * d.pad)) : 0,
    wPacked: fusedInputGrad(d) ? wk.alloc(d.outC * K) : 0,
    winograd: null,
  };
}

/**
 * out = conv(input) + bias; weights and bias must already be at buf.weights / buf.bias. weightsKey: a
 * number that changes whenever the weights do (the network's paramsKey), so the Winograd path transforms
 * them once per version instead of in every pass; undefined: they may have changed.
 */
export function conv2dForwardWasm(wk: WasmKernels, d: Conv2dDims, input: number, output: number, buf: ConvWasmBuffers, weightsKey?: number): void {
  const x = wk.x;
  const { n, inC, inH, inW, outC, kH, kW, stride, pad, outH, outW } = d;
  const P = outH * outW;
  const K = inC * kH * kW;
  const inBytes = inC * inH * inW * 4;
  const outBytes = outC * P * 4;
  const wg = buf.winograd;
  if (wg) {
    (wg.tile === 4 ? x.winograd4Forward : x.winogradForward)(n, inC, inH, inW, outC, buf.weights, buf.bias, input, output,
      wg.uForward, wg.uBackward, wg.padded, wg.patches, wg.products, wg.rowsPerChunk, wg.tileCapacity, packedBits(wg, weightsKey));
    // F(4x4) packs only uForward in the forward; F(2x2) both.
    wg.packedFor.forward = weightsKey ?? NaN;
    if (wg.tile === 2) wg.packedFor.backward = weightsKey ?? NaN;
    wg.patchesFor.input = input;
    wg.patchesFor.n = n;
    return;
  }
  x.broadcastBias(n, outC, P, buf.bias, output);
  const pw = pointwise(d);
  if (implicitForward(d)) {
    for (let b = 0; b < n; b++) x.convForward(inC, inH, inW, kH, kW, pad, outC, outH, outW, buf.weights, input + b * inBytes, buf.padded, output + b * outBytes);
    buf.colsFor.input = -1;
    buf.colsFor.n = 0;
    return;
  }
  const keep = n <= buf.colSlots;
  const ld = pw ? P : buf.ldcol;
  for (let b = 0; b < n; b++) {
    let col = input + b * inBytes;
    if (!pw) {
      col = buf.cols + (keep ? b : 0) * K * ld * 4;
      x.im2col(inC, inH, inW, kH, kW, stride, pad, outH, outW, input + b * inBytes, col, ld);
    }
    x.sgemm(0, 0, outC, P, K, 1, buf.weights, K, col, ld, 1, output + b * outBytes, P);
  }
  buf.colsFor.input = input;
  buf.colsFor.n = keep ? n : 0;
}

/** Bit 0: uForward, bit 1: uBackward already hold the transform of the weights of version `key`. */
function packedBits(wg: WinogradBuffers, key: number | undefined): number {
  if (key === undefined) return 0;
  return (wg.packedFor.forward === key ? 1 : 0) | (wg.packedFor.backward === key ? 2 : 0);
}

/**
 * Gradients: buf.weightGrad / buf.biasGrad += dL/dW, dL/db; inputGrad (address, or -1 to skip) += dL/dx.
 * Reuses the cols of the last forward when it ran on the same input address and batch size; weightsKey
 * as in conv2dForwardWasm.
 */
export function conv2dBackwardWasm(
  wk: WasmKernels, d: Conv2dDims, input: number, outputGrad: number, inputGrad: number, buf: ConvWasmBuffers, weightsKey?: number,
): void {
  const x = wk.x;
  const { n, inC, inH, inW, outC, kH, kW, stride, pad, outH, outW } = d;
  const P = outH * outW;
  const K = inC * kH * kW;
  const inBytes = inC * inH * inW * 4;
  const outBytes = outC * P * 4;
  const pw = pointwise(d);
  const keep = n <= buf.colSlots;
  const cached = keep && buf.colsFor.input === input && buf.colsFor.n === n;
  const ld = pw ? P : buf.ldcol;
  const fused = fusedInputGrad(d);
  const implicit = implicitForward(d);
  x.biasGradAdd(n, outC, P, outputGrad, buf.biasGrad);
  const wg = buf.winograd;
  if (wg) {
    const haveV = wg.patchesFor.input === input && wg.patchesFor.n === n;
    (wg.tile === 4 ? x.winograd4Backward : x.winogradBackward)(n, inC, inH, inW, outC, buf.weights, input, outputGrad, buf.weightGrad, inputGrad >= 0 ? inputGrad : 0,
      wg.uForward, wg.uBackward, wg.padded, wg.patches, haveV ? 1 : 0, wg.products, wg.uGrad, wg.patchGrads, wg.paddedGrad,
      wg.rowsPerChunk, wg.tileCapacity, packedBits(wg, weightsKey));
    if (inputGrad >= 0) {
      wg.packedFor.forward = weightsKey ?? NaN;
      wg.packedFor.backward = weightsKey ?? NaN;
    }
    wg.patchesFor.input = input;
    wg.patchesFor.n = n;
    return;
  }
  if (fused && inputGrad >= 0) x.packConvDataWeights(inC, kH, kW, outC, buf.weights, buf.wPacked);
  for (let b = 0; b < n; b++) {
    const dy = outputGrad + b * outBytes;
    if (implicit && outW >= DOT_FILTER_MIN_OUT_W) {
      x.convBackwardFilterDot(inC, inH, inW, kH, kW, pad, outC, outH, outW, dy, input + b * inBytes, buf.padded, buf.weightGrad);
    } else if (implicit) {
      x.convBackwardFilter(inC, inH, inW, kH, kW, pad, outC, outH, outW, dy, input + b * inBytes, buf.padded, buf.weightGrad);
    } else {
      let col = input + b * inBytes;
      if (!pw) {
        col = buf.cols + (keep ? b : 0) * K * ld * 4;
        if (!cached) x.im2col(inC, inH, inW, kH, kW, stride, pad, outH, outW, input + b * inBytes, col, ld);
      }
      x.sgemm(0, 1, outC, K, P, 1, dy, P, col, ld, 1, buf.weightGrad, K);
    }
    if (inputGrad < 0) continue;
    const dx = inputGrad + b * inBytes;
    if (pw) {
      x.sgemm(1, 0, K, P, outC, 1, buf.weights, K, dy, P, 1, dx, P);
    } else if (fused) {
      // After the weight gradient: this reuses buf.padded, which that filled with the padded input.
      x.convBackwardData(inC, inH, inW, kH, kW, pad, outC, outH, outW, buf.wPacked, dy, dx, buf.padded);
    } else {
      x.sgemm(1, 0, K, P, outC, 1, buf.weights, K, dy, P, 0, buf.dcol, ld);
      x.col2imAdd(inC, inH, inW, kH, kW, stride, pad, outH, outW, buf.dcol, ld, dx);
    }
  }
  buf.colsFor.input = input;
  buf.colsFor.n = keep ? n : 0;
}
