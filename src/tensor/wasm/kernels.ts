/**
 * WebAssembly SIMD kernels (AssemblyScript). Compiled by `npm run build:wasm` (asc, --enable simd -O3
 * --runtime stub) into dist/tensor/wasm/kernels.wasm, and once more with --enable relaxed-simd into
 * kernels-relaxed.wasm (f32x4.relaxed_madd = FMA). Loaded by src/tensor/wasm.ts.
 *
 * Everything works on byte addresses in this module's linear memory; the JavaScript side owns the
 * memory layout (a bump allocator in src/tensor/wasm.ts). This module allocates nothing itself: the
 * packing buffers are handed in once through `setScratch`.
 *
 * Matrices are row-major float32, with the same contract as `sgemm` in src/tensor/gemm.ts:
 *   C[M x N] = alpha * op(A)[M x K] * op(B)[K x N] + beta * C   (beta = 0: C is write-only)
 * Results depend only on the shapes, never on which thread runs them (deterministic).
 */

/** Rows of the register tile. */
const MR: i32 = 4;
/** Columns of the register tile: 2 x f32x4. */
const NR: i32 = 8;
/** Depth of a K slice. */
const KC: i32 = 256;
/** Rows of op(A) packed at once. Multiple of MR. */
const MC: i32 = 128;
/** Columns of op(B) packed at once. Multiple of NR. */
const NC: i32 = 512;

import { copyF32, madd, zeroF32 } from './simd';
export { winogradForward, winogradBackward } from './winograd';
export { winograd4Forward, winograd4Backward } from './winograd4';
export { depthwiseForward, depthwiseBackward } from './depthwise';

let packA: usize = 0;
let packB: usize = 0;
let edgeTile: usize = 0;

/** Floats of scratch the caller must provide: packA, packB, edge tile. */
export function scratchFloats(): i32 {
  return MC * KC + KC * NC + MR * NR;
}

/** Hand the module its scratch area (scratchFloats() floats at `base`, 16-byte aligned). */
export function setScratch(base: usize): void {
  packA = base;
  packB = base + <usize>(MC * KC) * 4;
  edgeTile = packB + <usize>(KC * NC) * 4;
}


/** C = beta * C on an M x N block. */
function scaleMatrix(M: i32, N: i32, beta: f32, C: usize, ldc: i32): void {
  for (let i = 0; i < M; i++) {
    const row = C + <usize>(i * ldc) * 4;
    if (beta == 0) {
      memory.fill(row, 0, <usize>N * 4);
    } else {
      for (let j = 0; j < N; j++) {
        const p = row + <usize>j * 4;
        store<f32>(p, load<f32>(p) * beta);
      }
    }
  }
}

/**
 * C[4 x 8 tile, row stride ldc bytes] += alpha * Ap[4 x kc] * Bp[kc x 8].
 * Ap: packed [k][4]; Bp: packed [k][8]. 8 accumulators + 2 B + 1 A vectors fit the 16 x64 vector
 * registers V8 allocates from (4 x 12 measured slower: it spills).
 */
function micro(kc: i32, a: usize, b: usize, alpha: f32, c: usize, ldc: usize): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  for (let k = 0; k < kc; k++) {
    const b0 = v128.load(b);
    const b1 = v128.load(b, 16);
    let av = v128.load32_splat(a);
    c00 = madd(av, b0, c00);
    c01 = madd(av, b1, c01);
    av = v128.load32_splat(a, 4);
    c10 = madd(av, b0, c10);
    c11 = madd(av, b1, c11);
    av = v128.load32_splat(a, 8);
    c20 = madd(av, b0, c20);
    c21 = madd(av, b1, c21);
    av = v128.load32_splat(a, 12);
    c30 = madd(av, b0, c30);
    c31 = madd(av, b1, c31);
    a += 16;
    b += 32;
  }
  // Every load of C before any store: with a row stride of a multiple of 4 KiB, a load issued after
  // a store to another row looks (to the low 12 address bits) like it depends on it and stalls.
  const al = f32x4.splat(alpha);
  const o0 = c, o1 = o0 + ldc, o2 = o1 + ldc, o3 = o2 + ldc;
  const d00 = v128.load(o0), d01 = v128.load(o0, 16);
  const d10 = v128.load(o1), d11 = v128.load(o1, 16);
  const d20 = v128.load(o2), d21 = v128.load(o2, 16);
  const d30 = v128.load(o3), d31 = v128.load(o3, 16);
  v128.store(o0, madd(al, c00, d00));
  v128.store(o0, madd(al, c01, d01), 16);
  v128.store(o1, madd(al, c10, d10));
  v128.store(o1, madd(al, c11, d11), 16);
  v128.store(o2, madd(al, c20, d20));
  v128.store(o2, madd(al, c21, d21), 16);
  v128.store(o3, madd(al, c30, d30));
  v128.store(o3, madd(al, c31, d31), 16);
}

/**
 * d[r * planeBytes .. + 32) += (Ap[4 x kc] * Bp[kc x 8]) row r, for r = 0..3: `microSet` whose tile is
 * added straight from the registers into 4 planes of an input gradient (convBackwardData).
 */
function microAddPlanes(kc: i32, a: usize, b: usize, d: usize, planeBytes: usize): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  for (let k = 0; k < kc; k++) {
    const b0 = v128.load(b);
    const b1 = v128.load(b, 16);
    let av = v128.load32_splat(a);
    c00 = madd(av, b0, c00);
    c01 = madd(av, b1, c01);
    av = v128.load32_splat(a, 4);
    c10 = madd(av, b0, c10);
    c11 = madd(av, b1, c11);
    av = v128.load32_splat(a, 8);
    c20 = madd(av, b0, c20);
    c21 = madd(av, b1, c21);
    av = v128.load32_splat(a, 12);
    c30 = madd(av, b0, c30);
    c31 = madd(av, b1, c31);
    a += 16;
    b += 32;
  }
  const d1 = d + planeBytes, d2 = d1 + planeBytes, d3 = d2 + planeBytes;
  v128.store(d, f32x4.add(v128.load(d), c00));
  v128.store(d, f32x4.add(v128.load(d, 16), c01), 16);
  v128.store(d1, f32x4.add(v128.load(d1), c10));
  v128.store(d1, f32x4.add(v128.load(d1, 16), c11), 16);
  v128.store(d2, f32x4.add(v128.load(d2), c20));
  v128.store(d2, f32x4.add(v128.load(d2, 16), c21), 16);
  v128.store(d3, f32x4.add(v128.load(d3), c30));
  v128.store(d3, f32x4.add(v128.load(d3, 16), c31), 16);
}

/** Edge tile (mb < MR rows or nb < NR columns) through a scratch tile, same arithmetic as `micro`. */
function microEdge(kc: i32, a: usize, b: usize, alpha: f32, c: usize, ldc: i32, mb: i32, nb: i32): void {
  const t = edgeTile;
  zeroF32(t, MR * NR);
  for (let r = 0; r < mb; r++) copyF32(t + <usize>(r * NR) * 4, c + <usize>(r * ldc) * 4, nb);
  micro(kc, a, b, alpha, t, <usize>NR * 4);
  for (let r = 0; r < mb; r++) copyF32(c + <usize>(r * ldc) * 4, t + <usize>(r * NR) * 4, nb);
}

/** Transposes the 4x4 block whose rows are r0..r3 and stores its 4 columns at dst + i*rowBytes. */
@inline function transposeStore4(dst: usize, rowBytes: usize, r0: v128, r1: v128, r2: v128, r3: v128): void {
  const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5);
  const t1 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
  const t2 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
  const t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
  v128.store(dst, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5));
  v128.store(dst + rowBytes, v128.shuffle<f32>(t0, t1, 2, 3, 6, 7));
  v128.store(dst + 2 * rowBytes, v128.shuffle<f32>(t2, t3, 0, 1, 4, 5));
  v128.store(dst + 3 * rowBytes, v128.shuffle<f32>(t2, t3, 2, 3, 6, 7));
}

/** Pack op(A)[ic:ic+mc, pc:pc+kc] as MR-row panels [k][MR], rows past mc zero. */
function packBlockA(transA: bool, A: usize, lda: i32, ic: i32, pc: i32, mc: i32, kc: i32): void {
  for (let ir = 0; ir < mc; ir += MR) {
    const mb = min(MR, mc - ir);
    let dst = packA + <usize>(ir * kc) * 4;
    if (transA) {
      // op(A)[i, k] = A[k*lda + i]: MR contiguous values per k.
      let src = A + <usize>(pc * lda + ic + ir) * 4;
      const step = <usize>lda * 4;
      if (mb == MR) {
        for (let k = 0; k < kc; k++) {
          v128.store(dst, v128.load(src));
          dst += 16;
          src += step;
        }
      } else {
        for (let k = 0; k < kc; k++) {
          for (let r = 0; r < MR; r++) {
            store<f32>(dst + <usize>r * 4, r < mb ? load<f32>(src + <usize>r * 4) : 0);
          }
          dst += 16;
          src += step;
        }
      }
    } else {
      // op(A)[i, k] = A[i*lda + k]: interleave MR rows.
      if (mb == MR) {
        const s0 = A + <usize>((ic + ir) * lda + pc) * 4;
        const step = <usize>lda * 4;
        const s1 = s0 + step, s2 = s1 + step, s3 = s2 + step;
        let k = 0;
        for (; k + 4 <= kc; k += 4) {
          // Rows ic+ir..+3, columns k..k+3, stored transposed.
          const o = <usize>k * 4;
          transposeStore4(dst, 16, v128.load(s0 + o), v128.load(s1 + o), v128.load(s2 + o), v128.load(s3 + o));
          dst += 64;
        }
        for (; k < kc; k++) {
          store<f32>(dst, load<f32>(s0 + <usize>k * 4));
          store<f32>(dst, load<f32>(s1 + <usize>k * 4), 4);
          store<f32>(dst, load<f32>(s2 + <usize>k * 4), 8);
          store<f32>(dst, load<f32>(s3 + <usize>k * 4), 12);
          dst += 16;
        }
      } else {
        for (let r = 0; r < MR; r++) {
          let o = dst + <usize>r * 4;
          if (r < mb) {
            let src = A + <usize>((ic + ir + r) * lda + pc) * 4;
            for (let k = 0; k < kc; k++) {
              store<f32>(o, load<f32>(src));
              src += 4;
              o += 16;
            }
          } else {
            for (let k = 0; k < kc; k++) {
              store<f32>(o, 0);
              o += 16;
            }
          }
        }
      }
    }
  }
}

/** Pack op(B)[pc:pc+kc, jc:jc+nc] as NR-column panels [k][NR] at packB + jp*kc*NR, columns past nc zero. */
function packBlockB(transB: bool, B: usize, ldb: i32, pc: i32, jc: i32, nc: i32, kc: i32): void {
  for (let jr = 0; jr < nc; jr += NR) {
    const nb = min(NR, nc - jr);
    const panel = packB + <usize>(jr * kc) * 4;
    if (!transB) {
      let src = B + <usize>(pc * ldb + jc + jr) * 4;
      const step = <usize>ldb * 4;
      let dst = panel;
      if (nb == NR) {
        for (let k = 0; k < kc; k++) {
          v128.store(dst, v128.load(src));
          v128.store(dst, v128.load(src, 16), 16);
          dst += 32;
          src += step;
        }
      } else {
        for (let k = 0; k < kc; k++) {
          for (let c = 0; c < NR; c++) {
            store<f32>(dst + <usize>c * 4, c < nb ? load<f32>(src + <usize>c * 4) : 0);
          }
          dst += 32;
          src += step;
        }
      }
    } else {
      // op(B)[k, j] = B[j*ldb + k]: column c of the panel is a contiguous run of B.
      if (nb < NR) memory.fill(panel, 0, <usize>(kc * NR) * 4);
      let c = 0;
      if (nb == NR) {
        // 4 columns at a time, 4x4 transposes.
        for (; c < NR; c += 4) {
          const s0 = B + <usize>((jc + jr + c) * ldb + pc) * 4;
          const step = <usize>ldb * 4;
          const s1 = s0 + step, s2 = s1 + step, s3 = s2 + step;
          let dst = panel + <usize>c * 4;
          let k = 0;
          for (; k + 4 <= kc; k += 4) {
            const o = <usize>k * 4;
            transposeStore4(dst, 32, v128.load(s0 + o), v128.load(s1 + o), v128.load(s2 + o), v128.load(s3 + o));
            dst += 128;
          }
          for (; k < kc; k++) {
            store<f32>(dst, load<f32>(s0 + <usize>k * 4));
            store<f32>(dst, load<f32>(s1 + <usize>k * 4), 4);
            store<f32>(dst, load<f32>(s2 + <usize>k * 4), 8);
            store<f32>(dst, load<f32>(s3 + <usize>k * 4), 12);
            dst += 32;
          }
        }
      } else {
        for (; c < nb; c++) {
          let src = B + <usize>((jc + jr + c) * ldb + pc) * 4;
          let dst = panel + <usize>c * 4;
          for (let k = 0; k < kc; k++) {
            store<f32>(dst, load<f32>(src));
            src += 4;
            dst += 32;
          }
        }
      }
    }
  }
}

/** The gemm (see the file comment). Addresses in bytes, leading dimensions in floats. */
export function sgemm(
  transA: bool, transB: bool, M: i32, N: i32, K: i32, alpha: f32,
  A: usize, lda: i32, B: usize, ldb: i32, beta: f32, C: usize, ldc: i32,
): void {
  if (M <= 0 || N <= 0) return;
  if (beta != 1) scaleMatrix(M, N, beta, C, ldc);
  if (K <= 0 || alpha == 0) return;
  const ldcBytes = <usize>ldc * 4;
  for (let jc = 0; jc < N; jc += NC) {
    const nc = min(NC, N - jc);
    for (let pc = 0; pc < K; pc += KC) {
      const kc = min(KC, K - pc);
      packBlockB(transB, B, ldb, pc, jc, nc, kc);
      for (let ic = 0; ic < M; ic += MC) {
        const mc = min(MC, M - ic);
        packBlockA(transA, A, lda, ic, pc, mc, kc);
        for (let jr = 0; jr < nc; jr += NR) {
          const nb = min(NR, nc - jr);
          const bp = packB + <usize>(jr * kc) * 4;
          const cCol = C + <usize>((ic * ldc) + jc + jr) * 4;
          for (let ir = 0; ir < mc; ir += MR) {
            const mb = min(MR, mc - ir);
            const ap = packA + <usize>(ir * kc) * 4;
            const cp = cCol + <usize>(ir * ldc) * 4;
            if (mb == MR && nb == NR) micro(kc, ap, bp, alpha, cp, ldcBytes);
            else microEdge(kc, ap, bp, alpha, cp, ldc, mb, nb);
          }
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// im2col / col2im (same geometry as src/tensor/conv2d.ts), col rows of length P at stride ldcol.

// @ts-ignore: decorator
@inline function firstValidOut(kOff: i32, stride: i32, pad: i32, outSize: i32): i32 {
  // ceil((pad - kOff) / stride) for any sign.
  const num = pad - kOff;
  let lo = num > 0 ? (num + stride - 1) / stride : -((-num) / stride);
  return lo < 0 ? 0 : lo > outSize ? outSize : lo;
}

// @ts-ignore: decorator
@inline function endValidOut(kOff: i32, stride: i32, pad: i32, inSize: i32, outSize: i32, lo: i32): i32 {
  // floor((inSize - 1 + pad - kOff) / stride) + 1
  const num = inSize - 1 + pad - kOff;
  const hi = (num >= 0 ? num / stride : -((-num + stride - 1) / stride)) + 1;
  return hi < lo ? lo : hi > outSize ? outSize : hi;
}

/** Unfold one sample (inC x inH x inW at `input`) into col rows (K = inC*kH*kW rows of P = outH*outW at stride ldcol). */
export function im2col(
  inC: i32, inH: i32, inW: i32, kH: i32, kW: i32, stride: i32, pad: i32, outH: i32, outW: i32,
  input: usize, col: usize, ldcol: i32,
): void {
  let row = col;
  const rowStep = <usize>ldcol * 4;
  for (let c = 0; c < inC; c++) {
    const plane = input + <usize>(c * inH * inW) * 4;
    for (let ky = 0; ky < kH; ky++) {
      for (let kx = 0; kx < kW; kx++) {
        const oxLo = firstValidOut(kx, stride, pad, outW);
        const oxHi = endValidOut(kx, stride, pad, inW, outW, oxLo);
        const ixLo = oxLo * stride - pad + kx;
        for (let oy = 0; oy < outH; oy++) {
          const dst = row + <usize>(oy * outW) * 4;
          const iy = oy * stride - pad + ky;
          if (iy < 0 || iy >= inH) {
            zeroF32(dst, outW);
            continue;
          }
          if (oxLo > 0) zeroF32(dst, oxLo);
          const src = plane + <usize>(iy * inW + ixLo) * 4;
          if (stride == 1) {
            copyF32(dst + <usize>oxLo * 4, src, oxHi - oxLo);
          } else {
            let s = src;
            const sStep = <usize>stride * 4;
            for (let ox = oxLo; ox < oxHi; ox++) {
              store<f32>(dst + <usize>ox * 4, load<f32>(s));
              s += sStep;
            }
          }
          if (oxHi < outW) zeroF32(dst + <usize>oxHi * 4, outW - oxHi);
        }
        row += rowStep;
      }
    }
  }
}

/** Fold col rows back, ADDING each entry into grad (inC x inH x inW) where im2col read it. */
export function col2imAdd(
  inC: i32, inH: i32, inW: i32, kH: i32, kW: i32, stride: i32, pad: i32, outH: i32, outW: i32,
  col: usize, ldcol: i32, grad: usize,
): void {
  let row = col;
  const rowStep = <usize>ldcol * 4;
  for (let c = 0; c < inC; c++) {
    const plane = grad + <usize>(c * inH * inW) * 4;
    for (let ky = 0; ky < kH; ky++) {
      for (let kx = 0; kx < kW; kx++) {
        const oxLo = firstValidOut(kx, stride, pad, outW);
        const oxHi = endValidOut(kx, stride, pad, inW, outW, oxLo);
        const ixLo = oxLo * stride - pad + kx;
        const cnt = oxHi - oxLo;
        for (let oy = 0; oy < outH; oy++) {
          const iy = oy * stride - pad + ky;
          if (iy < 0 || iy >= inH) continue;
          let src = row + <usize>(oy * outW + oxLo) * 4;
          let dst = plane + <usize>(iy * inW + ixLo) * 4;
          if (stride == 1) {
            let i = 0;
            for (; i + 4 <= cnt; i += 4) {
              v128.store(dst, f32x4.add(v128.load(dst), v128.load(src)));
              dst += 16;
              src += 16;
            }
            for (; i < cnt; i++) {
              store<f32>(dst, load<f32>(dst) + load<f32>(src));
              dst += 4;
              src += 4;
            }
          } else {
            const dStep = <usize>stride * 4;
            for (let i = 0; i < cnt; i++) {
              store<f32>(dst, load<f32>(dst) + load<f32>(src));
              dst += dStep;
              src += 4;
            }
          }
        }
        row += rowStep;
      }
    }
  }
}

/**
 * Copy input (inC x inH x inW) into padded (inC x (inH + 2 pad) x (inW + 2 pad)) with zero borders, so
 * that packConvB reads every unfolded row without bounds checks.
 */
function padInput(inC: i32, inH: i32, inW: i32, pad: i32, input: usize, padded: usize): void {
  const wp = inW + 2 * pad;
  let dst = padded;
  let src = input;
  const rowBytes = <usize>wp * 4;
  for (let c = 0; c < inC; c++) {
    for (let y = 0; y < pad; y++) {
      zeroF32(dst, wp);
      dst += rowBytes;
    }
    for (let y = 0; y < inH; y++) {
      zeroF32(dst, pad);
      copyF32(dst + <usize>pad * 4, src, inW);
      zeroF32(dst + <usize>(pad + inW) * 4, pad);
      dst += rowBytes;
      src += <usize>inW * 4;
    }
    for (let y = 0; y < pad; y++) {
      zeroF32(dst, wp);
      dst += rowBytes;
    }
  }
}

/**
 * Pack op(B)[pc:pc+kc, jc:jc+nc] of B = im2col(input) straight from the zero-padded input (stride 1,
 * outW % 8 == 0: a panel's 8 columns are 8 positions of one output row, so each of its rows is 8
 * consecutive floats of a padded row). Same layout as packBlockB.
 */
function packConvB(
  hp: i32, wp: i32, kH: i32, kW: i32, outW: i32,
  padded: usize, pc: i32, jc: i32, nc: i32, kc: i32,
): void {
  const kk = kH * kW;
  for (let jr = 0; jr < nc; jr += NR) {
    const p = jc + jr;
    const oy = p / outW;
    const ox = p - oy * outW;
    let dst = packB + <usize>(jr * kc) * 4;
    let c = pc / kk;
    const rem = pc - c * kk;
    let ky = rem / kW;
    let kx = rem - ky * kW;
    let k = 0;
    while (k < kc) {
      // A run of kernel columns kx .. kx+run-1 of one (c, ky): consecutive padded floats.
      const run = min(kW - kx, kc - k);
      let src = padded + <usize>((c * hp + oy + ky) * wp + ox + kx) * 4;
      for (let r = 0; r < run; r++) {
        v128.store(dst, v128.load(src));
        v128.store(dst, v128.load(src, 16), 16);
        dst += 32;
        src += 4;
      }
      k += run;
      kx += run;
      if (kx == kW) {
        kx = 0;
        if (++ky == kH) {
          ky = 0;
          c++;
        }
      }
    }
  }
}

/**
 * Forward of a stride-1 convolution for one sample without an unfolded copy of the input:
 *   out[outC x P] += W[outC x K] * im2col(input)       (outW % 8 == 0; out holds the bias already)
 * padded: scratch of inC x (inH + 2 pad) x (inW + 2 pad) floats.
 * The gemm of `sgemm` (beta = 1) with op(B) packed from the input by packConvB, so the K x P unfolded
 * matrix is never written and read back.
 */
export function convForward(
  inC: i32, inH: i32, inW: i32, kH: i32, kW: i32, pad: i32, outC: i32, outH: i32, outW: i32,
  W: usize, input: usize, padded: usize, out: usize,
): void {
  padInput(inC, inH, inW, pad, input, padded);
  const hp = inH + 2 * pad;
  const wp = inW + 2 * pad;
  const M = outC;
  const N = outH * outW;
  const K = inC * kH * kW;
  const ldcBytes = <usize>N * 4;
  for (let jc = 0; jc < N; jc += NC) {
    const nc = min(NC, N - jc);
    for (let pc = 0; pc < K; pc += KC) {
      const kc = min(KC, K - pc);
      packConvB(hp, wp, kH, kW, outW, padded, pc, jc, nc, kc);
      for (let ic = 0; ic < M; ic += MC) {
        const mc = min(MC, M - ic);
        packBlockA(false, W, K, ic, pc, mc, kc);
        for (let jr = 0; jr < nc; jr += NR) {
          const bp = packB + <usize>(jr * kc) * 4;
          const cCol = out + <usize>((ic * N) + jc + jr) * 4;
          for (let ir = 0; ir < mc; ir += MR) {
            const mb = min(MR, mc - ir);
            const ap = packA + <usize>(ir * kc) * 4;
            const cp = cCol + <usize>(ir * N) * 4;
            if (mb == MR) micro(kc, ap, bp, 1, cp, ldcBytes);
            else microEdge(kc, ap, bp, 1, cp, N, mb, NR);
          }
        }
      }
    }
  }
}

/**
 * 4 columns of a transposed-B panel (row stride 32 bytes) from 4 unfolded rows at padded addresses
 * a0..a3: for positions pc .. pc+kc (kc % 4 == 0, outW % 4 == 0), row r's values at those positions are
 * runs of 4 consecutive floats of one padded row, so each step is one 4 x 4 transpose.
 */
// @ts-ignore: decorator
@inline function packConvRows4(dst: usize, a0: usize, a1: usize, a2: usize, a3: usize, pc: i32, kc: i32, outW: i32, wp: i32): void {
  let oy = pc / outW;
  let ox = pc - oy * outW;
  for (let k = 0; k < kc; k += 4) {
    const o = <usize>(oy * wp + ox) * 4;
    transposeStore4(dst, 32, v128.load(a0 + o), v128.load(a1 + o), v128.load(a2 + o), v128.load(a3 + o));
    dst += 128;
    ox += 4;
    if (ox == outW) {
      ox = 0;
      oy++;
    }
  }
}

/** Padded address of unfolded row j = (c, ky, kx) at output position 0. */
// @ts-ignore: decorator
@inline function unfoldedRow(padded: usize, j: i32, kk: i32, kW: i32, hp: i32, wp: i32): usize {
  const c = j / kk;
  const rem = j - c * kk;
  const ky = rem / kW;
  return padded + <usize>((c * hp + ky) * wp + rem - ky * kW) * 4;
}

/**
 * Pack op(B)[pc:pc+kc, jc:jc+nc] of op(B) = im2col(input)^T (positions x unfolded rows) straight from
 * the zero-padded input (stride 1, outW % 4 == 0, kc % 4 == 0). Same layout as packBlockB.
 */
function packConvBT(
  hp: i32, wp: i32, kH: i32, kW: i32, outW: i32,
  padded: usize, pc: i32, jc: i32, nc: i32, kc: i32,
): void {
  const kk = kH * kW;
  for (let jr = 0; jr < nc; jr += NR) {
    const nb = min(NR, nc - jr);
    const panel = packB + <usize>(jr * kc) * 4;
    const j = jc + jr;
    if (nb == NR) {
      packConvRows4(panel, unfoldedRow(padded, j, kk, kW, hp, wp), unfoldedRow(padded, j + 1, kk, kW, hp, wp),
        unfoldedRow(padded, j + 2, kk, kW, hp, wp), unfoldedRow(padded, j + 3, kk, kW, hp, wp), pc, kc, outW, wp);
      packConvRows4(panel + 16, unfoldedRow(padded, j + 4, kk, kW, hp, wp), unfoldedRow(padded, j + 5, kk, kW, hp, wp),
        unfoldedRow(padded, j + 6, kk, kW, hp, wp), unfoldedRow(padded, j + 7, kk, kW, hp, wp), pc, kc, outW, wp);
    } else {
      memory.fill(panel, 0, <usize>(kc * NR) * 4);
      for (let q = 0; q < nb; q++) {
        const a = unfoldedRow(padded, j + q, kk, kW, hp, wp);
        let dst = panel + <usize>q * 4;
        let oy = pc / outW;
        let ox = pc - oy * outW;
        for (let k = 0; k < kc; k++) {
          store<f32>(dst, load<f32>(a + <usize>(oy * wp + ox) * 4));
          dst += 32;
          if (++ox == outW) {
            ox = 0;
            oy++;
          }
        }
      }
    }
  }
}

/**
 * Weight gradient of a stride-1 convolution for one sample without an unfolded copy of the input:
 *   dW[outC x K] += dY[outC x P] * im2col(input)^T     (outW % 8 == 0)
 * padded: scratch of inC x (inH + 2 pad) x (inW + 2 pad) floats (filled here from input).
 */
export function convBackwardFilter(
  inC: i32, inH: i32, inW: i32, kH: i32, kW: i32, pad: i32, outC: i32, outH: i32, outW: i32,
  dy: usize, input: usize, padded: usize, dW: usize,
): void {
  padInput(inC, inH, inW, pad, input, padded);
  const hp = inH + 2 * pad;
  const wp = inW + 2 * pad;
  const M = outC;
  const N = inC * kH * kW;
  const K = outH * outW;
  const ldcBytes = <usize>N * 4;
  for (let jc = 0; jc < N; jc += NC) {
    const nc = min(NC, N - jc);
    for (let pc = 0; pc < K; pc += KC) {
      const kc = min(KC, K - pc);
      packConvBT(hp, wp, kH, kW, outW, padded, pc, jc, nc, kc);
      for (let ic = 0; ic < M; ic += MC) {
        const mc = min(MC, M - ic);
        packBlockA(false, dy, K, ic, pc, mc, kc);
        for (let jr = 0; jr < nc; jr += NR) {
          const nb = min(NR, nc - jr);
          const bp = packB + <usize>(jr * kc) * 4;
          const cCol = dW + <usize>((ic * N) + jc + jr) * 4;
          for (let ir = 0; ir < mc; ir += MR) {
            const mb = min(MR, mc - ir);
            const ap = packA + <usize>(ir * kc) * 4;
            const cp = cCol + <usize>(ir * N) * 4;
            if (mb == MR && nb == NR) micro(kc, ap, bp, 1, cp, ldcBytes);
            else microEdge(kc, ap, bp, 1, cp, N, mb, nb);
          }
        }
      }
    }
  }
}

// @ts-ignore: decorator
@inline function hsum(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

/**
 * Weight gradient of a stride-1 convolution for one sample as dot products, nothing packed:
 *   dW[o, j] += sum over positions p of dY[o, p] * im2col(input)[j, p]      (outW % 4 == 0)
 * Both factors are contiguous along p (a row of dY; 4-float runs of one padded input row), so a tile of
 * 2 outputs x 4 unfolded rows accumulates 8 x 4 lanes over all positions and is reduced once at the end.
 * padded: scratch of inC x (inH + 2 pad) x (inW + 2 pad) floats (filled here from input).
 */
export function convBackwardFilterDot(
  inC: i32, inH: i32, inW: i32, kH: i32, kW: i32, pad: i32, outC: i32, outH: i32, outW: i32,
  dy: usize, input: usize, padded: usize, dW: usize,
): void {
  padInput(inC, inH, inW, pad, input, padded);
  const hp = inH + 2 * pad;
  const wp = inW + 2 * pad;
  const kk = kH * kW;
  const N = inC * kk;
  const P = outH * outW;
  const rowBytes = <usize>outW * 4;
  const wpBytes = <usize>wp * 4;
  for (let o = 0; o < outC; o += 2) {
    const two = o + 1 < outC;
    const y0p = dy + <usize>(o * P) * 4;
    const y1p = two ? y0p + <usize>P * 4 : y0p;
    for (let j = 0; j < N; j += 4) {
      const jn = min(4, N - j);
      const a0 = unfoldedRow(padded, j, kk, kW, hp, wp);
      const a1 = jn > 1 ? unfoldedRow(padded, j + 1, kk, kW, hp, wp) : a0;
      const a2 = jn > 2 ? unfoldedRow(padded, j + 2, kk, kW, hp, wp) : a0;
      const a3 = jn > 3 ? unfoldedRow(padded, j + 3, kk, kW, hp, wp) : a0;
      let s00 = f32x4.splat(0), s01 = f32x4.splat(0), s02 = f32x4.splat(0), s03 = f32x4.splat(0);
      let s10 = f32x4.splat(0), s11 = f32x4.splat(0), s12 = f32x4.splat(0), s13 = f32x4.splat(0);
      let yRow: usize = 0;
      let xRow: usize = 0;
      for (let oy = 0; oy < outH; oy++) {
        for (let q: usize = 0; q < rowBytes; q += 16) {
          const y0 = v128.load(y0p + yRow + q);
          const y1 = v128.load(y1p + yRow + q);
          const xo = xRow + q;
          const x0 = v128.load(a0 + xo);
          s00 = madd(y0, x0, s00);
          s10 = madd(y1, x0, s10);
          const x1 = v128.load(a1 + xo);
          s01 = madd(y0, x1, s01);
          s11 = madd(y1, x1, s11);
          const x2 = v128.load(a2 + xo);
          s02 = madd(y0, x2, s02);
          s12 = madd(y1, x2, s12);
          const x3 = v128.load(a3 + xo);
          s03 = madd(y0, x3, s03);
          s13 = madd(y1, x3, s13);
        }
        yRow += rowBytes;
        xRow += wpBytes;
      }
      const d0 = dW + <usize>(o * N + j) * 4;
      store<f32>(d0, load<f32>(d0) + hsum(s00));
      if (jn > 1) store<f32>(d0, load<f32>(d0, 4) + hsum(s01), 4);
      if (jn > 2) store<f32>(d0, load<f32>(d0, 8) + hsum(s02), 8);
      if (jn > 3) store<f32>(d0, load<f32>(d0, 12) + hsum(s03), 12);
      if (two) {
        const d1 = d0 + <usize>N * 4;
        store<f32>(d1, load<f32>(d1) + hsum(s10));
        if (jn > 1) store<f32>(d1, load<f32>(d1, 4) + hsum(s11), 4);
        if (jn > 2) store<f32>(d1, load<f32>(d1, 8) + hsum(s12), 8);
        if (jn > 3) store<f32>(d1, load<f32>(d1, 12) + hsum(s13), 12);
      }
    }
  }
}

/**
 * The weights of a stride-1 convolution packed once for convBackwardData (the same for every sample of
 * a batch, so packing them per sample repeated the work): W [outC x K] (K = inC*kH*kW) as the rows of
 * W^T grouped in tiles, tile tt = kernel offset s = tt / (inC/4) of channels 4g .. 4g+3
 * (g = tt mod (inC/4)), each tile's panel [outC][4] contiguous: Wp[(tt*outC + o)*4 + r] = W[o, (4g + r)*kk + s].
 * Wp holds inC*kH*kW*outC floats.
 */
export function packConvDataWeights(inC: i32, kH: i32, kW: i32, outC: i32, W: usize, Wp: usize): void {
  const kk = kH * kW;
  const M = inC * kk;
  const groups = inC / MR;
  const tiles = groups * kk;
  const kkBytes = <usize>kk * 4;
  const mBytes = <usize>M * 4;
  let dst = Wp;
  for (let tt = 0; tt < tiles; tt++) {
    const sOff = tt / groups;
    const g = tt - sOff * groups;
    let src = W + <usize>(g * MR * kk + sOff) * 4;
    for (let o = 0; o < outC; o++) {
      store<f32>(dst, load<f32>(src));
      store<f32>(dst, load<f32>(src + kkBytes), 4);
      store<f32>(dst, load<f32>(src + 2 * kkBytes), 8);
      store<f32>(dst, load<f32>(src + 3 * kkBytes), 12);
      dst += 16;
      src += mBytes;
    }
  }
}

/**
 * Input gradient of a stride-1 convolution for one sample without the dcol matrix:
 *   grad (inC x inH x inW) += col2im(W^T * dY)   (ACCUMULATED: the caller zeroes grad once per pass)
 * Wp: the weights packed by packConvDataWeights; dY [outC x P] (P = outH*outW). Each 4 x 8 tile of
 * W^T * dY is added straight into a zero-padded gradient (inC x (inH + 2 pad) x (inW + 2 pad) floats
 * at `padded`), where every tile lands in bounds, so no tile needs the scalar edge path (8x8 images
 * with pad 1: two thirds of the tiles did); the padded gradient's interior is then added into grad.
 * A tile's 4 rows are the same kernel offset (ky, kx) of 4 channels (needs inC % 4 == 0), so they land
 * in 4 different planes at the same place: rows of adjacent kx would overlap by all but one float, and
 * each read-modify-write would wait for the previous store. Its 8 columns are 8 positions of one output
 * row (needs outW % 8 == 0). Sums in a fixed order (deterministic).
 */
export function convBackwardData(
  inC: i32, inH: i32, inW: i32, kH: i32, kW: i32, pad: i32, outC: i32, outH: i32, outW: i32,
  Wp: usize, dy: usize, grad: usize, padded: usize,
): void {
  const N = outH * outW;
  const kk = kH * kW;
  const groups = inC / MR;
  const tiles = groups * kk;
  const hp = inH + 2 * pad;
  const wp = inW + 2 * pad;
  const planeBytes = <usize>(hp * wp) * 4;
  zeroF32(padded, inC * hp * wp);
  for (let jc = 0; jc < N; jc += NC) {
    const nc = min(NC, N - jc);
    for (let pc = 0; pc < outC; pc += KC) {
      const kc = min(KC, outC - pc);
      packBlockB(false, dy, N, pc, jc, nc, kc);
      for (let tt = 0; tt < tiles; tt++) {
        const sOff = tt / groups;
        const g = tt - sOff * groups;
        const ky = sOff / kW;
        const kx = sOff - ky * kW;
        const ap = Wp + <usize>((tt * outC + pc) * MR) * 4;
        const plane0 = padded + <usize>(g * MR) * planeBytes;
        for (let jr = 0; jr < nc; jr += NR) {
          const p = jc + jr;
          const oy = p / outW;
          const d0 = plane0 + <usize>((oy + ky) * wp + p - oy * outW + kx) * 4;
          microAddPlanes(kc, ap, packB + <usize>(jr * kc) * 4, d0, planeBytes);
        }
      }
    }
  }
  // grad += the interior of the padded gradient.
  let src = padded + <usize>(pad * wp + pad) * 4;
  let dst = grad;
  const wpBytes = <usize>wp * 4;
  for (let c = 0; c < inC; c++) {
    let row = src;
    for (let y = 0; y < inH; y++) {
      let i = 0;
      for (; i + 4 <= inW; i += 4) {
        const o = <usize>i * 4;
        v128.store(dst + o, f32x4.add(v128.load(dst + o), v128.load(row + o)));
      }
      for (; i < inW; i++) {
        const o = <usize>i * 4;
        store<f32>(dst + o, load<f32>(dst + o) + load<f32>(row + o));
      }
      dst += <usize>inW * 4;
      row += wpBytes;
    }
    src += planeBytes;
  }
}

// ---------------------------------------------------------------------------------------------
// Small helpers over [n, channels, spatial] tensors.

/** out[b, c, :] = bias[c] for every sample (the conv output before W*col is added on top). */
export function broadcastBias(n: i32, channels: i32, spatial: i32, bias: usize, out: usize): void {
  let o = out;
  for (let b = 0; b < n; b++) {
    for (let c = 0; c < channels; c++) {
      const v = f32x4.splat(load<f32>(bias + <usize>c * 4));
      const s = load<f32>(bias + <usize>c * 4);
      let i = 0;
      for (; i + 4 <= spatial; i += 4) {
        v128.store(o, v);
        o += 16;
      }
      for (; i < spatial; i++) {
        store<f32>(o, s);
        o += 4;
      }
    }
  }
}

/**
 * biasGrad[c] += sum over samples and positions of grad[b, c, :]. Each (b, c) row is summed in 4 lanes
 * then reduced, in a fixed order (deterministic).
 */
export function biasGradAdd(n: i32, channels: i32, spatial: i32, grad: usize, biasGrad: usize): void {
  for (let c = 0; c < channels; c++) {
    let total: f32 = 0;
    for (let b = 0; b < n; b++) {
      let p = grad + <usize>((b * channels + c) * spatial) * 4;
      let acc = f32x4.splat(0);
      let i = 0;
      for (; i + 4 <= spatial; i += 4) {
        acc = f32x4.add(acc, v128.load(p));
        p += 16;
      }
      let s: f32 = hsum(acc);
      for (; i < spatial; i++) {
        s += load<f32>(p);
        p += 4;
      }
      total += s;
    }
    const q = biasGrad + <usize>c * 4;
    store<f32>(q, load<f32>(q) + total);
  }
}

/** out = max(0, in) over count floats. */
export function reluForward(input: usize, out: usize, count: i32): void {
  const z = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= count; i += 4) {
    const o = <usize>i * 4;
    v128.store(out + o, f32x4.pmax(z, v128.load(input + o)));
  }
  for (; i < count; i++) {
    const x = load<f32>(input + <usize>i * 4);
    store<f32>(out + <usize>i * 4, x > 0 ? x : 0);
  }
}

/** inGrad += outGrad where out > 0 (ACCUMULATED). */
export function reluBackward(out: usize, outGrad: usize, inGrad: usize, count: i32): void {
  const z = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= count; i += 4) {
    const o = <usize>i * 4;
    const mask = f32x4.gt(v128.load(out + o), z);
    v128.store(inGrad + o, f32x4.add(v128.load(inGrad + o), v128.and(v128.load(outGrad + o), mask)));
  }
  for (; i < count; i++) {
    const o = <usize>i * 4;
    store<f32>(inGrad + o, load<f32>(inGrad + o) + (load<f32>(out + o) > 0 ? load<f32>(outGrad + o) : 0));
  }
}

// ---------------------------------------------------------------------------------------------
// Max pooling with the semantics of src/tensor/pool2d.ts: only in-bounds positions compete, the first
// maximum in row-major window order wins (strict >, so NaN never wins), argmax = flat index into the
// whole input (i32), a window with no winner outputs 0 with argmax -1.

/** planes = n * channels. */
export function maxPoolForward(
  planes: i32, inH: i32, inW: i32, kH: i32, kW: i32, stride: i32, pad: i32, outH: i32, outW: i32,
  input: usize, output: usize, argmax: usize,
): void {
  if (kH == 2 && kW == 2 && stride == 2 && pad == 0 && (outW & 3) == 0 && inW == 2 * outW && inH >= 2 * outH) {
    maxPool2x2(planes, inH, inW, outH, outW, input, output, argmax);
    return;
  }
  const inPlane = inH * inW;
  let o: usize = 0;
  for (let plane = 0; plane < planes; plane++) {
    const base = plane * inPlane;
    for (let oy = 0; oy < outH; oy++) {
      const y0 = oy * stride - pad;
      const yLo = y0 < 0 ? 0 : y0;
      const yHi = y0 + kH > inH ? inH : y0 + kH;
      for (let ox = 0; ox < outW; ox++) {
        const x0 = ox * stride - pad;
        const xLo = x0 < 0 ? 0 : x0;
        const xHi = x0 + kW > inW ? inW : x0 + kW;
        let best: f32 = -Infinity;
        let bestIdx: i32 = -1;
        for (let y = yLo; y < yHi; y++) {
          const row = base + y * inW;
          for (let i = row + xLo, end = row + xHi; i < end; i++) {
            const v = load<f32>(input + <usize>i * 4);
            if (v > best) {
              best = v;
              bestIdx = i;
            }
          }
        }
        if (bestIdx < 0) best = 0;
        store<f32>(output + o * 4, best);
        store<i32>(argmax + o * 4, bestIdx);
        o++;
      }
    }
  }
}

/** 2x2 windows, stride 2, no padding, outW a multiple of 4: four outputs per step. */
function maxPool2x2(planes: i32, inH: i32, inW: i32, outH: i32, outW: i32, input: usize, output: usize, argmax: usize): void {
  const inPlane = inH * inW;
  const ninf = f32x4.splat(-Infinity);
  const none = i32x4.splat(-1);
  const zero = f32x4.splat(0);
  // Flat index of the top-left of lanes 0..3: base + 2*lane.
  const lane2 = i32x4(0, 2, 4, 6);
  let o = output;
  let am = argmax;
  for (let plane = 0; plane < planes; plane++) {
    const base = plane * inPlane;
    for (let oy = 0; oy < outH; oy++) {
      const rowIdx = base + 2 * oy * inW;
      const r0 = input + <usize>rowIdx * 4;
      const r1 = r0 + <usize>inW * 4;
      for (let ox = 0; ox < outW; ox += 4) {
        const off = <usize>(2 * ox) * 4;
        const u0 = v128.load(r0 + off);
        const u1 = v128.load(r0 + off, 16);
        const l0 = v128.load(r1 + off);
        const l1 = v128.load(r1 + off, 16);
        const a = v128.shuffle<f32>(u0, u1, 0, 2, 4, 6);
        const b = v128.shuffle<f32>(u0, u1, 1, 3, 5, 7);
        const c = v128.shuffle<f32>(l0, l1, 0, 2, 4, 6);
        const d = v128.shuffle<f32>(l0, l1, 1, 3, 5, 7);
        const ia = i32x4.add(i32x4.splat(rowIdx + 2 * ox), lane2);
        let best = ninf;
        let idx = none;
        let m = f32x4.gt(a, best);
        best = v128.bitselect(a, best, m);
        idx = v128.bitselect(ia, idx, m);
        m = f32x4.gt(b, best);
        best = v128.bitselect(b, best, m);
        idx = v128.bitselect(i32x4.add(ia, i32x4.splat(1)), idx, m);
        m = f32x4.gt(c, best);
        best = v128.bitselect(c, best, m);
        idx = v128.bitselect(i32x4.add(ia, i32x4.splat(inW)), idx, m);
        m = f32x4.gt(d, best);
        best = v128.bitselect(d, best, m);
        idx = v128.bitselect(i32x4.add(ia, i32x4.splat(inW + 1)), idx, m);
        best = v128.bitselect(zero, best, i32x4.lt_s(idx, zero));
        v128.store(o, best);
        v128.store(am, idx);
        o += 16;
        am += 16;
      }
    }
  }
}

/** inputGrad[argmax[o]] += outputGrad[o] in order (ACCUMULATED into inCount floats). */
export function maxPoolBackward(outCount: i32, inCount: i32, outputGrad: usize, argmax: usize, inputGrad: usize): void {
  for (let o = 0; o < outCount; o++) {
    const i = load<i32>(argmax + <usize>o * 4);
    if (i >= 0) {
      const p = inputGrad + <usize>i * 4;
      store<f32>(p, load<f32>(p) + load<f32>(outputGrad + <usize>o * 4));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Batch norm over [n, channels, spatial] (see src/tensor/batchnorm.ts for the contract). Each (b, c)
// row is summed in vector accumulators, reduced, and added to a float64 channel total in sample order
// (deterministic, and float64 across rows keeps large batches accurate).

/** Sum of count floats at p, in four vector accumulators (one was bound by the add's latency). */
// @ts-ignore: decorator
@inline function rowSum(p: usize, count: i32): f64 {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  let i = 0;
  for (; i + 16 <= count; i += 16) {
    a0 = f32x4.add(a0, v128.load(p));
    a1 = f32x4.add(a1, v128.load(p, 16));
    a2 = f32x4.add(a2, v128.load(p, 32));
    a3 = f32x4.add(a3, v128.load(p, 48));
    p += 64;
  }
  for (; i + 4 <= count; i += 4) {
    a0 = f32x4.add(a0, v128.load(p));
    p += 16;
  }
  let s = hsum(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)));
  for (; i < count; i++) {
    s += load<f32>(p);
    p += 4;
  }
  return <f64>s;
}

/** Sum of (x - mu)^2 over count floats at p, four accumulators. */
// @ts-ignore: decorator
@inline function rowSquaredDeviations(p: usize, count: i32, mu: f32): f64 {
  const muv = f32x4.splat(mu);
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  let i = 0;
  for (; i + 16 <= count; i += 16) {
    const t0 = f32x4.sub(v128.load(p), muv), t1 = f32x4.sub(v128.load(p, 16), muv);
    const t2 = f32x4.sub(v128.load(p, 32), muv), t3 = f32x4.sub(v128.load(p, 48), muv);
    a0 = madd(t0, t0, a0);
    a1 = madd(t1, t1, a1);
    a2 = madd(t2, t2, a2);
    a3 = madd(t3, t3, a3);
    p += 64;
  }
  for (; i + 4 <= count; i += 4) {
    const t = f32x4.sub(v128.load(p), muv);
    a0 = madd(t, t, a0);
    p += 16;
  }
  let s = hsum(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)));
  for (; i < count; i++) {
    const t = load<f32>(p) - mu;
    s += t * t;
    p += 4;
  }
  return <f64>s;
}

/** Mean and biased variance of channel c's rows (two passes), stored at mean[c], variance[c]. */
// @ts-ignore: decorator
@inline function channelStats(n: i32, spatial: i32, first: usize, sampleBytes: usize, mean: usize, variance: usize, c: i32): void {
  const m = <f64>n * <f64>spatial;
  let sum: f64 = 0;
  let p = first;
  for (let b = 0; b < n; b++) {
    sum += rowSum(p, spatial);
    p += sampleBytes;
  }
  const mu = <f32>(sum / m);
  let sq: f64 = 0;
  p = first;
  for (let b = 0; b < n; b++) {
    sq += rowSquaredDeviations(p, spatial, mu);
    p += sampleBytes;
  }
  store<f32>(mean + <usize>c * 4, mu);
  store<f32>(variance + <usize>c * 4, <f32>(sq / m));
}

/**
 * Training forward, one channel at a time while its rows are in cache: mean and variance (two
 * passes, float64 across rows), invStd = 1 / sqrt(variance + eps), then out = a x + shift with a = gamma invStd and
 * shift = beta - mean a, rounded exactly as the TypeScript path does (float64, then float32). gamma
 * and beta: addresses of per-channel values (ones and zeros without affine parameters).
 */
export function batchNormForwardTrain(
  n: i32, channels: i32, spatial: i32, input: usize, gamma: usize, beta: usize, eps: f64,
  mean: usize, variance: usize, invStd: usize, out: usize,
): void {
  const rowBytes = <usize>spatial * 4;
  const sampleBytes = rowBytes * <usize>channels;
  for (let c = 0; c < channels; c++) {
    const first = input + <usize>c * rowBytes;
    channelStats(n, spatial, first, sampleBytes, mean, variance, c);
    const cb = <usize>c * 4;
    const inv = <f32>(1.0 / Math.sqrt(<f64>load<f32>(variance + cb) + eps));
    store<f32>(invStd + cb, inv);
    const a64 = <f64>load<f32>(gamma + cb) * <f64>inv;
    const a = <f32>a64;
    const z = <f32>(<f64>load<f32>(beta + cb) - <f64>load<f32>(mean + cb) * a64);
    const av = f32x4.splat(a), zv = f32x4.splat(z);
    let p = first;
    let o = out + <usize>c * rowBytes;
    for (let b = 0; b < n; b++) {
      let i = 0;
      for (; i + 4 <= spatial; i += 4) {
        const x = <usize>i * 4;
        v128.store(o + x, madd(v128.load(p + x), av, zv));
      }
      for (; i < spatial; i++) {
        const x = <usize>i * 4;
        store<f32>(o + x, load<f32>(p + x) * a + z);
      }
      p += sampleBytes;
      o += sampleBytes;
    }
  }
}

/** out[b, c, :] = scale[c] * x[b, c, :] + shift[c]. */
export function channelScaleShift(n: i32, channels: i32, spatial: i32, input: usize, scale: usize, shift: usize, out: usize): void {
  let p = input;
  let o = out;
  for (let b = 0; b < n; b++) {
    for (let c = 0; c < channels; c++) {
      const a = load<f32>(scale + <usize>c * 4);
      const z = load<f32>(shift + <usize>c * 4);
      const av = f32x4.splat(a);
      const zv = f32x4.splat(z);
      let i = 0;
      for (; i + 4 <= spatial; i += 4) {
        v128.store(o, madd(v128.load(p), av, zv));
        p += 16;
        o += 16;
      }
      for (; i < spatial; i++) {
        store<f32>(o, load<f32>(p) * a + z);
        p += 4;
        o += 4;
      }
    }
  }
}

/**
 * Batch-norm backward. sums[c] = sum(dy), sums[channels + c] = sum(dy * xhat) (written; the caller adds
 * them to the beta / gamma gradients), xhat = (x - mean[c]) * invStd[c]. When dx != 0 it ADDS:
 *   training:   dx += k (dy - sum(dy)/m - xhat * sum(dy xhat)/m),  k = gamma[c] * invStd[c]
 *   evaluation: dx += k dy
 * gamma: address of the per-channel scale (the caller passes ones when the layer has no gamma).
 */
export function batchNormBackward(
  n: i32, channels: i32, spatial: i32, training: i32,
  input: usize, gamma: usize, mean: usize, invStd: usize, dy: usize, dx: usize, sums: usize,
): void {
  const m = <f64>n * <f64>spatial;
  const rowBytes = <usize>spatial * 4;
  const sampleBytes = rowBytes * <usize>channels;
  for (let c = 0; c < channels; c++) {
    const mu = load<f32>(mean + <usize>c * 4);
    const is = load<f32>(invStd + <usize>c * 4);
    const muv = f32x4.splat(mu);
    let sumDy: f64 = 0;
    let sumDyX: f64 = 0;
    const off = <usize>c * rowBytes;
    for (let b = 0; b < n; b++) {
      const bo = off + <usize>b * sampleBytes;
      let pg = dy + bo;
      let px = input + bo;
      // Two accumulators per sum: one was bound by the add's latency.
      let a1 = f32x4.splat(0), b1 = f32x4.splat(0);
      let a2 = f32x4.splat(0), b2 = f32x4.splat(0);
      let i = 0;
      for (; i + 8 <= spatial; i += 8) {
        const g = v128.load(pg), h = v128.load(pg, 16);
        a1 = f32x4.add(a1, g);
        b1 = f32x4.add(b1, h);
        a2 = madd(g, f32x4.sub(v128.load(px), muv), a2);
        b2 = madd(h, f32x4.sub(v128.load(px, 16), muv), b2);
        pg += 32;
        px += 32;
      }
      for (; i + 4 <= spatial; i += 4) {
        const g = v128.load(pg);
        a1 = f32x4.add(a1, g);
        a2 = madd(g, f32x4.sub(v128.load(px), muv), a2);
        pg += 16;
        px += 16;
      }
      let s1: f32 = hsum(f32x4.add(a1, b1));
      let s2: f32 = hsum(f32x4.add(a2, b2));
      for (; i < spatial; i++) {
        const g = load<f32>(pg);
        s1 += g;
        s2 += g * (load<f32>(px) - mu);
        pg += 4;
        px += 4;
      }
      sumDy += <f64>s1;
      sumDyX += <f64>s2;
    }
    sumDyX *= <f64>is;
    store<f32>(sums + <usize>c * 4, <f32>sumDy);
    store<f32>(sums + <usize>(channels + c) * 4, <f32>sumDyX);
    if (dx == 0) continue;
    const k = load<f32>(gamma + <usize>c * 4) * is;
    const kv = f32x4.splat(k);
    // training: dx += k*dy - k*a - (x - mu) * (k * is * q)   with a = sumDy/m, q = sumDyX/m
    const ka = training ? <f32>(<f64>k * sumDy / m) : 0;
    const kq = training ? <f32>(<f64>k * <f64>is * sumDyX / m) : 0;
    const kav = f32x4.splat(ka);
    const kqv = f32x4.splat(kq);
    for (let b = 0; b < n; b++) {
      const bo = off + <usize>b * sampleBytes;
      let pg = dy + bo;
      let px = input + bo;
      let pd = dx + bo;
      let i = 0;
      for (; i + 4 <= spatial; i += 4) {
        const t = f32x4.sub(f32x4.mul(kv, v128.load(pg)), f32x4.add(kav, f32x4.mul(kqv, f32x4.sub(v128.load(px), muv))));
        v128.store(pd, f32x4.add(v128.load(pd), t));
        pg += 16;
        px += 16;
        pd += 16;
      }
      for (; i < spatial; i++) {
        store<f32>(pd, load<f32>(pd) + (k * load<f32>(pg) - (ka + kq * (load<f32>(px) - mu))));
        pg += 4;
        px += 4;
        pd += 4;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Element-wise joins (src/tensor/elementwise.ts).

/** out = a + b over count floats (out may be a or b). */
export function addTwo(count: i32, a: usize, b: usize, out: usize): void {
  let i = 0;
  for (; i + 4 <= count; i += 4) {
    const o = <usize>i * 4;
    v128.store(out + o, f32x4.add(v128.load(a + o), v128.load(b + o)));
  }
  for (; i < count; i++) {
    const o = <usize>i * 4;
    store<f32>(out + o, load<f32>(a + o) + load<f32>(b + o));
  }
}
