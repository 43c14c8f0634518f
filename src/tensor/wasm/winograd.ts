/**
 * Winograd F(2x2, 3x3) convolution (Lavin & Gray 2016) for 3x3 / stride 1 / pad 1 convolutions whose
 * output equals the input size: every 2x2 block of outputs ("tile") takes 16 multiplies per
 * (input channel, output channel) instead of 36, so the gemms do 2.25x less work than a direct
 * convolution. Compiled into the kernels module (re-exported by kernels.ts).
 *
 *   forward      Y_t = A^T [ U ⊙ V_t ] A           U = G g G^T (4x4 per filter), V_t = B^T d_t B (4x4 input patch)
 *   weight grad  dU  = sum_t Z_t ⊙ V_t,  dg = G^T dU G     Z_t = A dY_t A^T
 *   input grad   dV_t = U ⊙ Z_t (summed over out channels),  dd_t = B dV_t B^T  (added into the patch)
 * The backward is the exact adjoint of the forward. With the 16 positions ξ of the 4x4 transforms as
 * the outer index, each product is one gemm per ξ over channels:
 *   M[ξ][k][t]  = sum_c U[ξ][k][c] V[ξ][c][t]       dU[ξ][k][c] = sum_t Z[ξ][k][t] V^T[ξ][t][c]
 *   dV[ξ][c][t] = sum_k U[ξ][k][c] Z[ξ][k][t]
 *
 * Tiles are processed in chunks of whole tile rows (rowsPerChunk rows of W/2 tiles, possibly spanning
 * samples) so the transformed chunk (V, M/Z: 16 x channels x tiles) stays in the L2 cache. Four tiles of
 * a tile row are transformed at once, one per SIMD lane (W % 8 == 0). Needs C % 4 == 0, K % 4 == 0.
 * Sums run in an order fixed by the shapes and the chunk size (deterministic).
 *
 * Layouts (floats): input/output NCHW; Xp = input zero-padded by 1 ([n][C][H+2][W+2]);
 * V [16][C][tcap], M and Z [16][K][tcap] (tcap: tiles per chunk, a multiple of 8; the 16 planes
 * xiStride apart, 16 floats more than C*tcap or K*tcap);
 * Ufwd [16][K/4][C][4] and Ubwd [16][C/4][K][4] (U packed as the gemms' left operand); dU [16][K][C].
 */
import { madd } from './simd';

/**
 * Bytes between the 16 ξ planes of a transformed chunk of `rows` channels: rows * tcap floats plus 64
 * bytes. Without the 64, the planes of the usual chunk sizes are 12 KiB apart, so the 16 stores of a tile
 * all fall in one L1 cache set and evict each other (transforms 2-3x slower).
 */
// @ts-ignore: decorator
@inline export function xiStride(rows: i32, tcap: i32): usize {
  return <usize>(rows * tcap + 16) * 4;
}

/** U = G g G^T for every (k, c) of W [K][C][3][3], packed as Ufwd and Ubwd (see the file comment). */
export function winogradPackWeights(C: i32, K: i32, W: usize, Ufwd: usize, Ubwd: usize): void {
  const xiFwd = <usize>(K * C) * 4;
  for (let k = 0; k < K; k++) {
    for (let c = 0; c < C; c++) {
      const g = W + <usize>((k * C + c) * 9) * 4;
      // Gg (4x3): rows g0, (g0+g1+g2)/2, (g0-g1+g2)/2, g2.
      for (let j = 0; j < 3; j++) {
        const g0 = load<f32>(g + <usize>j * 4), g1 = load<f32>(g + <usize>(3 + j) * 4), g2 = load<f32>(g + <usize>(6 + j) * 4);
        store<f32>(scratchGg + <usize>j * 4, g0);
        store<f32>(scratchGg + <usize>(3 + j) * 4, 0.5 * (g0 + g1 + g2));
        store<f32>(scratchGg + <usize>(6 + j) * 4, 0.5 * (g0 - g1 + g2));
        store<f32>(scratchGg + <usize>(9 + j) * 4, g2);
      }
      const fwd = Ufwd + <usize>(((k >> 2) * C + c) * 4 + (k & 3)) * 4;
      const bwd = Ubwd + <usize>(((c >> 2) * K + k) * 4 + (c & 3)) * 4;
      for (let i = 0; i < 4; i++) {
        const r = scratchGg + <usize>(i * 3) * 4;
        const a = load<f32>(r), b = load<f32>(r, 4), d = load<f32>(r, 8);
        const u0 = a, u1: f32 = 0.5 * (a + b + d), u2: f32 = 0.5 * (a - b + d), u3 = d;
        const x = <usize>(i * 4);
        store<f32>(fwd + x * xiFwd, u0);
        store<f32>(fwd + (x + 1) * xiFwd, u1);
        store<f32>(fwd + (x + 2) * xiFwd, u2);
        store<f32>(fwd + (x + 3) * xiFwd, u3);
        store<f32>(bwd + x * xiFwd, u0);
        store<f32>(bwd + (x + 1) * xiFwd, u1);
        store<f32>(bwd + (x + 2) * xiFwd, u2);
        store<f32>(bwd + (x + 3) * xiFwd, u3);
      }
    }
  }
}

// 12 floats of static scratch for the small 3x4 / 4x3 products (the module has no heap).
const scratchGg: usize = memory.data(48, 16);

/** Copy n x C planes of H x W (W % 4 == 0) into Xp with a zero border of 1. */
export function padOne(planes: i32, H: i32, W: i32, input: usize, Xp: usize): void {
  const wp = W + 2;
  const z = f32x4.splat(0);
  const rowBytes = <usize>wp * 4;
  let dst = Xp;
  let src = input;
  for (let p = 0; p < planes; p++) {
    // Top border row, then each row with its left and right zero (the right one and the next row's
    // left one are adjacent), then the bottom border row.
    for (let i = 0; i < wp; i += 4) v128.store(dst + <usize>i * 4, z);
    dst += rowBytes;
    for (let y = 0; y < H; y++) {
      store<f32>(dst, 0);
      for (let i = 0; i < W; i += 4) v128.store(dst + <usize>(1 + i) * 4, v128.load(src + <usize>i * 4));
      store<f32>(dst + <usize>(W + 1) * 4, 0);
      dst += rowBytes;
      src += <usize>W * 4;
    }
    for (let i = 0; i + 4 <= wp; i += 4) v128.store(dst + <usize>i * 4, z);
    for (let i = wp & ~3; i < wp; i++) store<f32>(dst + <usize>i * 4, 0);
    dst += rowBytes;
  }
}

/**
 * V[ξ][c][t0 .. t0+3] = B^T d B for the 4 tiles whose padded patches start at `src` (row stride wpBytes):
 * lane j holds tile j, whose patch columns are 2j .. 2j+3.
 */
// @ts-ignore: decorator
@inline function inputTile4(src: usize, wpBytes: usize, dst: usize, xiBytes: usize): void {
  // Column transform (d B) of the 4 rows, then the row transform (B^T .).
  let r = src;
  let a = v128.load(r), b = v128.load(r, 16), a2 = v128.load(r, 8), b2 = v128.load(r, 24);
  let d0 = v128.shuffle<f32>(a, b, 0, 2, 4, 6), d1 = v128.shuffle<f32>(a, b, 1, 3, 5, 7);
  let d2 = v128.shuffle<f32>(a2, b2, 0, 2, 4, 6), d3 = v128.shuffle<f32>(a2, b2, 1, 3, 5, 7);
  const e00 = f32x4.sub(d0, d2), e01 = f32x4.add(d1, d2), e02 = f32x4.sub(d2, d1), e03 = f32x4.sub(d1, d3);
  r += wpBytes;
  a = v128.load(r); b = v128.load(r, 16); a2 = v128.load(r, 8); b2 = v128.load(r, 24);
  d0 = v128.shuffle<f32>(a, b, 0, 2, 4, 6); d1 = v128.shuffle<f32>(a, b, 1, 3, 5, 7);
  d2 = v128.shuffle<f32>(a2, b2, 0, 2, 4, 6); d3 = v128.shuffle<f32>(a2, b2, 1, 3, 5, 7);
  const e10 = f32x4.sub(d0, d2), e11 = f32x4.add(d1, d2), e12 = f32x4.sub(d2, d1), e13 = f32x4.sub(d1, d3);
  r += wpBytes;
  a = v128.load(r); b = v128.load(r, 16); a2 = v128.load(r, 8); b2 = v128.load(r, 24);
  d0 = v128.shuffle<f32>(a, b, 0, 2, 4, 6); d1 = v128.shuffle<f32>(a, b, 1, 3, 5, 7);
  d2 = v128.shuffle<f32>(a2, b2, 0, 2, 4, 6); d3 = v128.shuffle<f32>(a2, b2, 1, 3, 5, 7);
  const e20 = f32x4.sub(d0, d2), e21 = f32x4.add(d1, d2), e22 = f32x4.sub(d2, d1), e23 = f32x4.sub(d1, d3);
  // Rows 0, 1, 2 of V need rows 0..2 of e; row 3 needs rows 1 and 3.
  let o = dst;
  v128.store(o, f32x4.sub(e00, e20)); o += xiBytes;
  v128.store(o, f32x4.sub(e01, e21)); o += xiBytes;
  v128.store(o, f32x4.sub(e02, e22)); o += xiBytes;
  v128.store(o, f32x4.sub(e03, e23)); o += xiBytes;
  v128.store(o, f32x4.add(e10, e20)); o += xiBytes;
  v128.store(o, f32x4.add(e11, e21)); o += xiBytes;
  v128.store(o, f32x4.add(e12, e22)); o += xiBytes;
  v128.store(o, f32x4.add(e13, e23)); o += xiBytes;
  v128.store(o, f32x4.sub(e20, e10)); o += xiBytes;
  v128.store(o, f32x4.sub(e21, e11)); o += xiBytes;
  v128.store(o, f32x4.sub(e22, e12)); o += xiBytes;
  v128.store(o, f32x4.sub(e23, e13)); o += xiBytes;
  r += wpBytes;
  a = v128.load(r); b = v128.load(r, 16); a2 = v128.load(r, 8); b2 = v128.load(r, 24);
  d0 = v128.shuffle<f32>(a, b, 0, 2, 4, 6); d1 = v128.shuffle<f32>(a, b, 1, 3, 5, 7);
  d2 = v128.shuffle<f32>(a2, b2, 0, 2, 4, 6); d3 = v128.shuffle<f32>(a2, b2, 1, 3, 5, 7);
  v128.store(o, f32x4.sub(e10, f32x4.sub(d0, d2))); o += xiBytes;
  v128.store(o, f32x4.sub(e11, f32x4.add(d1, d2))); o += xiBytes;
  v128.store(o, f32x4.sub(e12, f32x4.sub(d2, d1))); o += xiBytes;
  v128.store(o, f32x4.sub(e13, f32x4.sub(d1, d3)));
}

/**
 * Byte offset, in an NCHW-like tensor of `channels` planes of planeBytes, of the first row of global
 * tile row gr (sample gr / tilesH, tile y gr % tilesH; each tile row spans `tile` image rows of rowBytes).
 */
// @ts-ignore: decorator
@inline export function tileRowOffset(gr: i32, tilesH: i32, tile: i32, channels: i32, planeBytes: usize, rowBytes: usize): usize {
  const b = gr / tilesH;
  return <usize>(b * channels) * planeBytes + <usize>(tile * (gr - b * tilesH)) * rowBytes;
}

/** V for tile rows gr0 .. gr0+rows-1 (global tile row = sample * H/2 + tile y) of the padded input. */
function inputTransform(C: i32, H: i32, W: i32, Xp: usize, gr0: i32, rows: i32, V: usize, tcap: i32): void {
  const tH = H >> 1, tW = W >> 1;
  const wp = W + 2;
  const wpBytes = <usize>wp * 4;
  const planeBytes = <usize>((H + 2) * wp) * 4;
  const xiBytes = xiStride(C, tcap);
  for (let r = 0; r < rows; r++) {
    const rowSrc = Xp + tileRowOffset(gr0 + r, tH, 2, C, planeBytes, wpBytes);
    for (let c = 0; c < C; c++) {
      const src = rowSrc + <usize>c * planeBytes;
      const dst = V + <usize>(c * tcap + r * tW) * 4;
      for (let tx = 0; tx < tW; tx += 4) inputTile4(src + <usize>(2 * tx) * 4, wpBytes, dst + <usize>tx * 4, xiBytes);
    }
  }
}

/**
 * rows x 8 block (row stride outBytes) = Ap[rows=4 x kc] * B[kc x 8] where Ap is packed [k][4] and B's
 * rows are 8 consecutive floats bStride bytes apart (the transformed chunks, no packing needed).
 */
function microRows(kc: i32, a: usize, b: usize, bStride: usize, out: usize, outBytes: usize): void {
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
    b += bStride;
  }
  const o1 = out + outBytes, o2 = o1 + outBytes, o3 = o2 + outBytes;
  v128.store(out, c00);
  v128.store(out, c01, 16);
  v128.store(o1, c10);
  v128.store(o1, c11, 16);
  v128.store(o2, c20);
  v128.store(o2, c21, 16);
  v128.store(o3, c30);
  v128.store(o3, c31, 16);
}

/**
 * For every ξ < planes (16, or 36 for F(4x4, 3x3)): out[ξ][m][t] = sum_j Ap[ξ][m/4][j][m%4] * B[ξ][j][t]
 * for m < M, t < tiles (rounded up to 8). Ap: [planes][M/4][J][4]; B: [planes][J][tcap]; out: [planes][M][tcap].
 */
export function chunkGemm(planes: i32, M: i32, J: i32, tiles: i32, Ap: usize, B: usize, out: usize, tcap: i32): void {
  const tBytes = <usize>tcap * 4;
  for (let xi = 0; xi < planes; xi++) {
    const a = Ap + <usize>(xi * M * J) * 4;
    const bXi = B + <usize>xi * xiStride(J, tcap);
    const oXi = out + <usize>xi * xiStride(M, tcap);
    for (let t = 0; t < tiles; t += 8) {
      for (let m = 0; m < M; m += 4) {
        microRows(J, a + <usize>(m * J) * 4, bXi + <usize>t * 4, tBytes, oXi + <usize>m * tBytes + <usize>t * 4, tBytes);
      }
    }
  }
}

/** Output rows 2ty, 2ty+1 at columns 2tx .. 2tx+7 of 4 tiles from M[ξ][k][t .. t+3] (plus bias). */
// @ts-ignore: decorator
@inline function outputTile4(m: usize, xiBytes: usize, bias: v128, dst: usize, wBytes: usize): void {
  let p = m;
  const m00 = v128.load(p); p += xiBytes;
  const m01 = v128.load(p); p += xiBytes;
  const m02 = v128.load(p); p += xiBytes;
  const m03 = v128.load(p); p += xiBytes;
  const f00 = f32x4.add(f32x4.add(m00, m01), m02), f01 = f32x4.sub(f32x4.sub(m01, m02), m03);
  const m10 = v128.load(p); p += xiBytes;
  const m11 = v128.load(p); p += xiBytes;
  const m12 = v128.load(p); p += xiBytes;
  const m13 = v128.load(p); p += xiBytes;
  const f10 = f32x4.add(f32x4.add(m10, m11), m12), f11 = f32x4.sub(f32x4.sub(m11, m12), m13);
  const m20 = v128.load(p); p += xiBytes;
  const m21 = v128.load(p); p += xiBytes;
  const m22 = v128.load(p); p += xiBytes;
  const m23 = v128.load(p); p += xiBytes;
  const f20 = f32x4.add(f32x4.add(m20, m21), m22), f21 = f32x4.sub(f32x4.sub(m21, m22), m23);
  const m30 = v128.load(p); p += xiBytes;
  const m31 = v128.load(p); p += xiBytes;
  const m32 = v128.load(p); p += xiBytes;
  const m33 = v128.load(p);
  const f30 = f32x4.add(f32x4.add(m30, m31), m32), f31 = f32x4.sub(f32x4.sub(m31, m32), m33);
  const y00 = f32x4.add(f32x4.add(f32x4.add(f00, f10), f20), bias);
  const y01 = f32x4.add(f32x4.add(f32x4.add(f01, f11), f21), bias);
  const y10 = f32x4.add(f32x4.sub(f32x4.sub(f10, f20), f30), bias);
  const y11 = f32x4.add(f32x4.sub(f32x4.sub(f11, f21), f31), bias);
  v128.store(dst, v128.shuffle<f32>(y00, y01, 0, 4, 1, 5));
  v128.store(dst, v128.shuffle<f32>(y00, y01, 2, 6, 3, 7), 16);
  const d1 = dst + wBytes;
  v128.store(d1, v128.shuffle<f32>(y10, y11, 0, 4, 1, 5));
  v128.store(d1, v128.shuffle<f32>(y10, y11, 2, 6, 3, 7), 16);
}

/** out (NCHW) for tile rows gr0 .. gr0+rows-1 from M. */
function outputTransform(K: i32, H: i32, W: i32, M: usize, tcap: i32, bias: usize, gr0: i32, rows: i32, out: usize): void {
  const tH = H >> 1, tW = W >> 1;
  const wBytes = <usize>W * 4;
  const planeBytes = <usize>(H * W) * 4;
  const xiBytes = xiStride(K, tcap);
  for (let r = 0; r < rows; r++) {
    const rowDst = out + tileRowOffset(gr0 + r, tH, 2, K, planeBytes, wBytes);
    for (let k = 0; k < K; k++) {
      const bv = v128.load32_splat(bias + <usize>k * 4);
      const src = M + <usize>(k * tcap + r * tW) * 4;
      const dst = rowDst + <usize>k * planeBytes;
      for (let tx = 0; tx < tW; tx += 4) outputTile4(src + <usize>tx * 4, xiBytes, bv, dst + <usize>(4 * tx) * 2, wBytes);
    }
  }
}

/**
 * out [n][K][H][W] = conv3x3(input [n][C][H][W], W) + bias (stride 1, pad 1), overwriting out.
 * Ufwd / Ubwd: 16*K*C floats each (filled here); Xp: n*C*(H+2)*(W+2); V: chunks*16*(C*tcap+16) (every
 * chunk's patches, kept for the backward); M: 16*(K*tcap+16); tcap >= rowsPerChunk * W/2 rounded up to 8.
 * packed == 3: Ufwd and Ubwd already hold these weights' U (an earlier pass with the same weights).
 */
export function winogradForward(
  n: i32, C: i32, H: i32, W: i32, K: i32, weights: usize, bias: usize, input: usize, out: usize,
  Ufwd: usize, Ubwd: usize, Xp: usize, V: usize, M: usize, rowsPerChunk: i32, tcap: i32, packed: i32,
): void {
  if (packed != 3) winogradPackWeights(C, K, weights, Ufwd, Ubwd);
  padOne(n * C, H, W, input, Xp);
  const totalRows = n * (H >> 1);
  const tW = W >> 1;
  const chunkBytes: usize = xiStride(C, tcap) * 16;
  let Vc = V;
  for (let gr = 0; gr < totalRows; gr += rowsPerChunk) {
    const rows = min(rowsPerChunk, totalRows - gr);
    inputTransform(C, H, W, Xp, gr, rows, Vc, tcap);
    chunkGemm(16, K, C, rows * tW, Ufwd, Vc, M, tcap);
    outputTransform(K, H, W, M, tcap, bias, gr, rows, out);
    Vc += chunkBytes;
  }
}

/** Z[ξ][k][t .. t+3] = A dY A^T for 4 tiles whose 2x2 output blocks start at `src` (rows wBytes apart). */
// @ts-ignore: decorator
@inline function gradTile4(src: usize, wBytes: usize, dst: usize, xiBytes: usize): void {
  let p = v128.load(src), q = v128.load(src, 16);
  const y00 = v128.shuffle<f32>(p, q, 0, 2, 4, 6), y01 = v128.shuffle<f32>(p, q, 1, 3, 5, 7);
  p = v128.load(src + wBytes);
  q = v128.load(src + wBytes, 16);
  const y10 = v128.shuffle<f32>(p, q, 0, 2, 4, 6), y11 = v128.shuffle<f32>(p, q, 1, 3, 5, 7);
  // g[a] = (y[a][0], y[a][0] + y[a][1], y[a][0] - y[a][1], -y[a][1]); Z rows: g0, g0 + g1, g0 - g1, -g1.
  const g00 = y00, g01 = f32x4.add(y00, y01), g02 = f32x4.sub(y00, y01), g03 = f32x4.neg(y01);
  const g10 = y10, g11 = f32x4.add(y10, y11), g12 = f32x4.sub(y10, y11), g13 = f32x4.neg(y11);
  let o = dst;
  v128.store(o, g00); o += xiBytes;
  v128.store(o, g01); o += xiBytes;
  v128.store(o, g02); o += xiBytes;
  v128.store(o, g03); o += xiBytes;
  v128.store(o, f32x4.add(g00, g10)); o += xiBytes;
  v128.store(o, f32x4.add(g01, g11)); o += xiBytes;
  v128.store(o, f32x4.add(g02, g12)); o += xiBytes;
  v128.store(o, f32x4.add(g03, g13)); o += xiBytes;
  v128.store(o, f32x4.sub(g00, g10)); o += xiBytes;
  v128.store(o, f32x4.sub(g01, g11)); o += xiBytes;
  v128.store(o, f32x4.sub(g02, g12)); o += xiBytes;
  v128.store(o, f32x4.sub(g03, g13)); o += xiBytes;
  v128.store(o, f32x4.neg(g10)); o += xiBytes;
  v128.store(o, f32x4.neg(g11)); o += xiBytes;
  v128.store(o, f32x4.neg(g12)); o += xiBytes;
  v128.store(o, f32x4.neg(g13));
}

/** Z for tile rows gr0 .. gr0+rows-1 of dY [n][K][H][W]. */
function gradTransform(K: i32, H: i32, W: i32, dy: usize, gr0: i32, rows: i32, Z: usize, tcap: i32): void {
  const tH = H >> 1, tW = W >> 1;
  const wBytes = <usize>W * 4;
  const planeBytes = <usize>(H * W) * 4;
  const xiBytes = xiStride(K, tcap);
  for (let r = 0; r < rows; r++) {
    const rowSrc = dy + tileRowOffset(gr0 + r, tH, 2, K, planeBytes, wBytes);
    for (let k = 0; k < K; k++) {
      const src = rowSrc + <usize>k * planeBytes;
      const dst = Z + <usize>(k * tcap + r * tW) * 4;
      for (let tx = 0; tx < tW; tx += 4) gradTile4(src + <usize>(4 * tx) * 2, wBytes, dst + <usize>tx * 4, xiBytes);
    }
  }
}

/**
 * VT[ξ][t][c] (rows of C floats) from V[ξ][c][t] for ξ < planes, tiles % 4 == 0: the weight-gradient
 * product's right operand with channels along the SIMD lanes (4x4 blocks transposed).
 */
function transposePatches(planes: i32, C: i32, tiles: i32, V: usize, tcap: i32, VT: usize): void {
  const tBytes = <usize>tcap * 4, cBytes = <usize>C * 4;
  for (let xi = 0; xi < planes; xi++) {
    const v = V + <usize>xi * xiStride(C, tcap);
    const vt = VT + <usize>(xi * tiles * C) * 4;
    for (let c = 0; c < C; c += 4) {
      const r0 = v + <usize>c * tBytes, r1 = r0 + tBytes, r2 = r1 + tBytes, r3 = r2 + tBytes;
      for (let t = 0; t < tiles; t += 4) {
        const o = <usize>t * 4;
        const a = v128.load(r0 + o), b = v128.load(r1 + o), e = v128.load(r2 + o), f = v128.load(r3 + o);
        const t0 = v128.shuffle<f32>(a, b, 0, 4, 1, 5), t1 = v128.shuffle<f32>(a, b, 2, 6, 3, 7);
        const t2 = v128.shuffle<f32>(e, f, 0, 4, 1, 5), t3 = v128.shuffle<f32>(e, f, 2, 6, 3, 7);
        const dst = vt + <usize>t * cBytes + <usize>c * 4;
        v128.store(dst, v128.shuffle<f32>(t0, t2, 0, 1, 4, 5));
        v128.store(dst + cBytes, v128.shuffle<f32>(t0, t2, 2, 3, 6, 7));
        v128.store(dst + 2 * cBytes, v128.shuffle<f32>(t1, t3, 0, 1, 4, 5));
        v128.store(dst + 3 * cBytes, v128.shuffle<f32>(t1, t3, 2, 3, 6, 7));
      }
    }
  }
}

/**
 * dU[ξ][k][c] += sum over the chunk's tiles of Z[ξ][k][t] V[ξ][c][t] for ξ < planes (tiles % 4 == 0).
 * V is first transposed into VT (planes * tiles * C floats of scratch) so that the product runs as a
 * gemm with 4 rows k x 8 channels per register block, Z broadcast (42-46 GFLOP/s, against 30-35 with
 * tiles along the lanes and a horizontal sum per block; the transpose costs 5-15% of that).
 */
export function filterGradChunk(planes: i32, C: i32, K: i32, tiles: i32, Z: usize, V: usize, tcap: i32, dU: usize, VT: usize): void {
  transposePatches(planes, C, tiles, V, tcap, VT);
  const tBytes = <usize>tcap * 4, cBytes = <usize>C * 4;
  const end = <usize>tiles * 4;
  for (let xi = 0; xi < planes; xi++) {
    const zXi = Z + <usize>xi * xiStride(K, tcap);
    const vXi = VT + <usize>(xi * tiles * C) * 4;
    const uXi = dU + <usize>(xi * K * C) * 4;
    for (let k = 0; k < K; k += 4) {
      const z0 = zXi + <usize>k * tBytes, z1 = z0 + tBytes, z2 = z1 + tBytes, z3 = z2 + tBytes;
      const o0 = uXi + <usize>(k * C) * 4, o1 = o0 + cBytes, o2 = o1 + cBytes, o3 = o2 + cBytes;
      let c = 0;
      for (; c + 8 <= C; c += 8) {
        let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
        let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
        let b = vXi + <usize>c * 4;
        for (let q: usize = 0; q < end; q += 4) {
          const b0 = v128.load(b), b1 = v128.load(b, 16);
          let a = v128.load32_splat(z0 + q);
          c00 = madd(a, b0, c00);
          c01 = madd(a, b1, c01);
          a = v128.load32_splat(z1 + q);
          c10 = madd(a, b0, c10);
          c11 = madd(a, b1, c11);
          a = v128.load32_splat(z2 + q);
          c20 = madd(a, b0, c20);
          c21 = madd(a, b1, c21);
          a = v128.load32_splat(z3 + q);
          c30 = madd(a, b0, c30);
          c31 = madd(a, b1, c31);
          b += cBytes;
        }
        const x = <usize>c * 4;
        v128.store(o0 + x, f32x4.add(v128.load(o0 + x), c00));
        v128.store(o0 + x, f32x4.add(v128.load(o0 + x, 16), c01), 16);
        v128.store(o1 + x, f32x4.add(v128.load(o1 + x), c10));
        v128.store(o1 + x, f32x4.add(v128.load(o1 + x, 16), c11), 16);
        v128.store(o2 + x, f32x4.add(v128.load(o2 + x), c20));
        v128.store(o2 + x, f32x4.add(v128.load(o2 + x, 16), c21), 16);
        v128.store(o3 + x, f32x4.add(v128.load(o3 + x), c30));
        v128.store(o3 + x, f32x4.add(v128.load(o3 + x, 16), c31), 16);
      }
      if (c < C) {
        // C % 8 == 4: the last 4 channels.
        let c0 = f32x4.splat(0), c1 = f32x4.splat(0), c2 = f32x4.splat(0), c3 = f32x4.splat(0);
        let b = vXi + <usize>c * 4;
        for (let q: usize = 0; q < end; q += 4) {
          const b0 = v128.load(b);
          c0 = madd(v128.load32_splat(z0 + q), b0, c0);
          c1 = madd(v128.load32_splat(z1 + q), b0, c1);
          c2 = madd(v128.load32_splat(z2 + q), b0, c2);
          c3 = madd(v128.load32_splat(z3 + q), b0, c3);
          b += cBytes;
        }
        const x = <usize>c * 4;
        v128.store(o0 + x, f32x4.add(v128.load(o0 + x), c0));
        v128.store(o1 + x, f32x4.add(v128.load(o1 + x), c1));
        v128.store(o2 + x, f32x4.add(v128.load(o2 + x), c2));
        v128.store(o3 + x, f32x4.add(v128.load(o3 + x), c3));
      }
    }
  }
}

/** [0, x0, x1, x2]: lane j gets lane j-1 (the tile to the left's contribution). */
// @ts-ignore: decorator
@inline export function shiftIn(x: v128): v128 {
  return v128.shuffle<f32>(f32x4.splat(0), x, 0, 4, 5, 6);
}

/** One patch row of 4 tiles (dd[s] = column s, lane = tile) added at dst (padded columns 2tx .. 2tx+9). */
// @ts-ignore: decorator
@inline function addPatchRow(dst: usize, dd0: v128, dd1: v128, dd2: v128, dd3: v128): void {
  const even = f32x4.add(dd0, shiftIn(dd2));
  const odd = f32x4.add(dd1, shiftIn(dd3));
  v128.store(dst, f32x4.add(v128.load(dst), v128.shuffle<f32>(even, odd, 0, 4, 1, 5)));
  v128.store(dst, f32x4.add(v128.load(dst, 16), v128.shuffle<f32>(even, odd, 2, 6, 3, 7)), 16);
  store<f32>(dst, load<f32>(dst, 32) + f32x4.extract_lane(dd2, 3), 32);
  store<f32>(dst, load<f32>(dst, 36) + f32x4.extract_lane(dd3, 3), 36);
}

/** dXp (padded) += B dV B^T for 4 tiles: dV[ξ][c][t .. t+3] at src, patches starting at dst. */
// @ts-ignore: decorator
@inline function inputGradTile4(src: usize, xiBytes: usize, dst: usize, wpBytes: usize): void {
  // Row combination first: (B dV)[r] = dV0 | dV1 - dV2 + dV3 | -dV0 + dV1 + dV2 | -dV3, per column j.
  let p = src;
  const v00 = v128.load(p); p += xiBytes;
  const v01 = v128.load(p); p += xiBytes;
  const v02 = v128.load(p); p += xiBytes;
  const v03 = v128.load(p); p += xiBytes;
  const v10 = v128.load(p); p += xiBytes;
  const v11 = v128.load(p); p += xiBytes;
  const v12 = v128.load(p); p += xiBytes;
  const v13 = v128.load(p); p += xiBytes;
  const v20 = v128.load(p); p += xiBytes;
  const v21 = v128.load(p); p += xiBytes;
  const v22 = v128.load(p); p += xiBytes;
  const v23 = v128.load(p); p += xiBytes;
  const v30 = v128.load(p); p += xiBytes;
  const v31 = v128.load(p); p += xiBytes;
  const v32 = v128.load(p); p += xiBytes;
  const v33 = v128.load(p);
  // Then the same combination along each row: dd[r][s].
  let a = v00, b = v01, c = v02, d = v03;
  addPatchRow(dst, a, f32x4.add(f32x4.sub(b, c), d), f32x4.add(f32x4.sub(b, a), c), f32x4.neg(d));
  a = f32x4.add(f32x4.sub(v10, v20), v30);
  b = f32x4.add(f32x4.sub(v11, v21), v31);
  c = f32x4.add(f32x4.sub(v12, v22), v32);
  d = f32x4.add(f32x4.sub(v13, v23), v33);
  addPatchRow(dst + wpBytes, a, f32x4.add(f32x4.sub(b, c), d), f32x4.add(f32x4.sub(b, a), c), f32x4.neg(d));
  a = f32x4.add(f32x4.sub(v10, v00), v20);
  b = f32x4.add(f32x4.sub(v11, v01), v21);
  c = f32x4.add(f32x4.sub(v12, v02), v22);
  d = f32x4.add(f32x4.sub(v13, v03), v23);
  addPatchRow(dst + 2 * wpBytes, a, f32x4.add(f32x4.sub(b, c), d), f32x4.add(f32x4.sub(b, a), c), f32x4.neg(d));
  a = f32x4.neg(v30);
  b = f32x4.neg(v31);
  c = f32x4.neg(v32);
  d = f32x4.neg(v33);
  addPatchRow(dst + 3 * wpBytes, a, f32x4.add(f32x4.sub(b, c), d), f32x4.add(f32x4.sub(b, a), c), f32x4.neg(d));
}

/** dXp += the patches' gradients for tile rows gr0 .. gr0+rows-1 from dV [16][C][tcap]. */
function inputGradTransform(C: i32, H: i32, W: i32, dV: usize, tcap: i32, gr0: i32, rows: i32, dXp: usize): void {
  const tH = H >> 1, tW = W >> 1;
  const wp = W + 2;
  const wpBytes = <usize>wp * 4;
  const planeBytes = <usize>((H + 2) * wp) * 4;
  const xiBytes = xiStride(C, tcap);
  for (let r = 0; r < rows; r++) {
    const rowDst = dXp + tileRowOffset(gr0 + r, tH, 2, C, planeBytes, wpBytes);
    for (let c = 0; c < C; c++) {
      const src = dV + <usize>(c * tcap + r * tW) * 4;
      const dst = rowDst + <usize>c * planeBytes;
      for (let tx = 0; tx < tW; tx += 4) inputGradTile4(src + <usize>tx * 4, xiBytes, dst + <usize>(2 * tx) * 4, wpBytes);
    }
  }
}

/** dW[k][c] (3x3) += G^T dU[.][k][c] G for every (k, c). */
function filterGradOut(C: i32, K: i32, dU: usize, dW: usize): void {
  const xiBytes = <usize>(K * C) * 4;
  for (let k = 0; k < K; k++) {
    for (let c = 0; c < C; c++) {
      const u = dU + <usize>(k * C + c) * 4;
      const w = dW + <usize>((k * C + c) * 9) * 4;
      // h = G^T X (3x4): rows X0 + (X1 + X2)/2, (X1 - X2)/2, (X1 + X2)/2 + X3; then h G per row.
      for (let j = 0; j < 4; j++) {
        const x0 = load<f32>(u + <usize>j * xiBytes);
        const x1 = load<f32>(u + <usize>(4 + j) * xiBytes);
        const x2 = load<f32>(u + <usize>(8 + j) * xiBytes);
        const x3 = load<f32>(u + <usize>(12 + j) * xiBytes);
        store<f32>(scratchGg + <usize>j * 4, x0 + 0.5 * (x1 + x2));
        store<f32>(scratchGg + <usize>(4 + j) * 4, 0.5 * (x1 - x2));
        store<f32>(scratchGg + <usize>(8 + j) * 4, 0.5 * (x1 + x2) + x3);
      }
      for (let i = 0; i < 3; i++) {
        const h = scratchGg + <usize>(i * 4) * 4;
        const a = load<f32>(h), b = load<f32>(h, 4), c2 = load<f32>(h, 8), d = load<f32>(h, 12);
        const o = w + <usize>(i * 3) * 4;
        store<f32>(o, load<f32>(o) + a + 0.5 * (b + c2));
        store<f32>(o, load<f32>(o, 4) + 0.5 * (b - c2), 4);
        store<f32>(o, load<f32>(o, 8) + 0.5 * (b + c2) + d, 8);
      }
    }
  }
}

/**
 * Gradients of winogradForward: dW += dL/dW; if dX != 0, dX += dL/dX (both ACCUMULATED).
 * The bias gradient is not computed here. Buffers as in winogradForward, plus dU (16*K*C floats), dV
 * (16*(C*tcap+16), one chunk; first the weight-gradient product's transposed patches) and dXp
 * (n*C*(H+2)*(W+2) floats, scratch); Z reuses the M buffer.
 * haveV != 0: V still holds the forward's transformed patches of this input (every chunk's, one after
 * another), so the input is not padded and transformed again. packed == 3: as in winogradForward.
 */
export function winogradBackward(
  n: i32, C: i32, H: i32, W: i32, K: i32, weights: usize, input: usize, dy: usize, dW: usize, dX: usize,
  Ufwd: usize, Ubwd: usize, Xp: usize, V: usize, haveV: i32, Z: usize, dU: usize, dV: usize, dXp: usize,
  rowsPerChunk: i32, tcap: i32, packed: i32,
): void {
  const wantDx = dX != 0;
  if (wantDx && packed != 3) winogradPackWeights(C, K, weights, Ufwd, Ubwd);
  if (!haveV) padOne(n * C, H, W, input, Xp);
  memory.fill(dU, 0, <usize>(16 * K * C) * 4);
  if (wantDx) memory.fill(dXp, 0, <usize>(n * C * (H + 2) * (W + 2)) * 4);
  const totalRows = n * (H >> 1);
  const tW = W >> 1;
  const chunkBytes: usize = xiStride(C, tcap) * 16;
  let Vc = V;
  for (let gr = 0; gr < totalRows; gr += rowsPerChunk) {
    const rows = min(rowsPerChunk, totalRows - gr);
    const tiles = rows * tW;
    if (!haveV) inputTransform(C, H, W, Xp, gr, rows, Vc, tcap);
    gradTransform(K, H, W, dy, gr, rows, Z, tcap);
    filterGradChunk(16, C, K, tiles, Z, Vc, tcap, dU, dV);
    if (wantDx) {
      chunkGemm(16, C, K, tiles, Ubwd, Z, dV, tcap);
      inputGradTransform(C, H, W, dV, tcap, gr, rows, dXp);
    }
    Vc += chunkBytes;
  }
  filterGradOut(C, K, dU, dW);
  if (wantDx) addInterior(n * C, H, W, dXp, dX);
}

/** dX [planes][H][W] += the interior of dXp [planes][H+2][W+2] (W % 4 == 0). */
export function addInterior(planes: i32, H: i32, W: i32, dXp: usize, dX: usize): void {
  const hp = H + 2, wp = W + 2;
  const wpBytes = <usize>wp * 4;
  let src = dXp + wpBytes + 4;
  let dst = dX;
  for (let p = 0; p < planes; p++) {
    let row = src;
    for (let y = 0; y < H; y++) {
      for (let i = 0; i < W; i += 4) {
        const o = <usize>i * 4;
        v128.store(dst + o, f32x4.add(v128.load(dst + o), v128.load(row + o)));
      }
      dst += <usize>W * 4;
      row += wpBytes;
    }
    src += <usize>(hp * wp) * 4;
  }
}
