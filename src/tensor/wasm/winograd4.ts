/**
 * Winograd F(4x4, 3x3) (Lavin & Gray 2016): every 4x4 block of outputs ("tile") takes 36 multiplies
 * per (input channel, output channel) instead of 144 (direct) or 64 (four F(2x2, 3x3) tiles), for
 * 3x3 / stride 1 / pad 1 convolutions with rows of a multiple of 16 and heights of a multiple of 4, or
 * 8x8-wide planes with heights of a multiple of 8.
 * The same scheme as winograd.ts with 6x6 transforms and 36 planes ξ = 6i + j:
 *
 *   forward      Y_t = A^T [ U ⊙ V_t ] A,   U = G g G^T,  V_t = B^T d_t B (6x6 input patch)
 *   weight grad  dU  = sum_t Z_t ⊙ V_t,  dg = G^T dU G,  Z_t = A dY_t A^T
 *   input grad   dV_t = U ⊙ Z_t (summed over out channels),  dd_t = B dV_t B^T (added into the patch)
 *
 *   B^T = | 4  0 -5  0  1  0 |    G = | 1/4     0     0 |    A^T = | 1  1  1  1  1  0 |
 *         | 0 -4 -4  1  1  0 |        | -1/6 -1/6  -1/6 |          | 0  1 -1  2 -2  0 |
 *         | 0  4 -4 -1  1  0 |        | -1/6  1/6  -1/6 |          | 0  1  1  4  4  0 |
 *         | 0 -2 -1  2  1  0 |        | 1/24 1/12   1/6 |          | 0  1 -1  8 -8  1 |
 *         | 0  2 -1 -2  1  0 |        | 1/24 -1/12  1/6 |
 *         | 0  4  0 -5  0  1 |        | 0       0     1 |
 *
 * Four tiles go through the transforms at once, one per SIMD lane: their patches are transposed into
 * lanes (10 shuffles per patch row), transformed along rows into a 36-vector scratch, then along
 * columns into the chunk. The four are consecutive tiles of a tile row, or, when rows are 8 wide (two
 * tiles), the 2x2 tiles of two tile rows ("pairs"). Tiles are numbered band by band: a band is one
 * tile row (4 image rows), or two in pairs mode (8 rows, the 4 tiles of an 8x8 plane). The gemms, chunking, buffers and layouts are winograd.ts's with
 * 36 planes in place of 16: V [36][C][tcap], M and Z [36][K][tcap], Ufwd [36][K/4][C][4],
 * Ubwd [36][C/4][K][4], dU [36][K][C].
 *
 * No zero-padded copy of the input (or of its gradient) is made: each band of each channel is copied
 * into a small zero-bordered strip (bandRows + 2 rows of W + 4 floats) that stays in the L1 cache, and
 * the input gradient is summed in such a strip and added into dX row by row, the 2 rows shared with
 * the next band carried per channel (a padded copy of a 16 x 16-channel 32x32 micro-batch is 1.2 MB,
 * larger than the L2 cache, and writing it then reading it back cost more than the transforms).
 */
import { copyF32, zeroF32 } from './simd';
import { chunkGemm, filterGradChunk, shiftIn, tileRowOffset, xiStride } from './winograd';

// Scratch (static: the module has no heap): one 6x6 group of vectors between the row and column
// passes of the tile transforms, or the steps of the filter transforms.
const rowPass: usize = memory.data(36 * 16, 16);

// @ts-ignore: decorator
@inline function splat(x: f32): v128 {
  return f32x4.splat(x);
}

/** x = B^T d for 6 vectors (one value per lane), stored at dst + i * stride. */
// @ts-ignore: decorator
@inline function inputT(d0: v128, d1: v128, d2: v128, d3: v128, d4: v128, d5: v128, dst: usize, stride: usize): void {
  const p = f32x4.sub(d4, f32x4.mul(splat(4), d2)), q = f32x4.sub(d3, f32x4.mul(splat(4), d1));
  const r = f32x4.sub(d4, d2), s = f32x4.mul(splat(2), f32x4.sub(d3, d1));
  v128.store(dst, f32x4.add(f32x4.sub(f32x4.mul(splat(4), d0), f32x4.mul(splat(5), d2)), d4));
  v128.store(dst + stride, f32x4.add(p, q));
  v128.store(dst + 2 * stride, f32x4.sub(p, q));
  v128.store(dst + 3 * stride, f32x4.add(r, s));
  v128.store(dst + 4 * stride, f32x4.sub(r, s));
  v128.store(dst + 5 * stride, f32x4.add(f32x4.sub(f32x4.mul(splat(4), d1), f32x4.mul(splat(5), d3)), d5));
}

/** d = B x (the adjoint of inputT) for 6 vectors, stored at dst + i * stride. */
// @ts-ignore: decorator
@inline function inputGradT(x0: v128, x1: v128, x2: v128, x3: v128, x4: v128, x5: v128, dst: usize, stride: usize): void {
  const a = f32x4.sub(x1, x2), b = f32x4.sub(x3, x4), c = f32x4.add(x1, x2), e = f32x4.add(x3, x4);
  v128.store(dst, f32x4.mul(splat(4), x0));
  v128.store(dst + stride, f32x4.add(f32x4.mul(splat(-4), a), f32x4.sub(f32x4.mul(splat(4), x5), f32x4.mul(splat(2), b))));
  v128.store(dst + 2 * stride, f32x4.sub(f32x4.neg(f32x4.add(f32x4.mul(splat(5), x0), f32x4.mul(splat(4), c))), e));
  v128.store(dst + 3 * stride, f32x4.sub(f32x4.add(a, f32x4.mul(splat(2), b)), f32x4.mul(splat(5), x5)));
  v128.store(dst + 4 * stride, f32x4.add(f32x4.add(x0, c), e));
  v128.store(dst + 5 * stride, x5);
}

/** y = A^T m for 6 vectors, 4 stored at dst + i * stride. */
// @ts-ignore: decorator
@inline function outputT(m0: v128, m1: v128, m2: v128, m3: v128, m4: v128, m5: v128, dst: usize, stride: usize): void {
  const a = f32x4.add(m1, m2), b = f32x4.sub(m1, m2), c = f32x4.add(m3, m4), e = f32x4.sub(m3, m4);
  v128.store(dst, f32x4.add(f32x4.add(m0, a), c));
  v128.store(dst + stride, f32x4.add(b, f32x4.mul(splat(2), e)));
  v128.store(dst + 2 * stride, f32x4.add(a, f32x4.mul(splat(4), c)));
  v128.store(dst + 3 * stride, f32x4.add(f32x4.add(b, f32x4.mul(splat(8), e)), m5));
}

/** z = A y (the adjoint of outputT) for 4 vectors, 6 stored at dst + i * stride. */
// @ts-ignore: decorator
@inline function gradT(y0: v128, y1: v128, y2: v128, y3: v128, dst: usize, stride: usize): void {
  const p = f32x4.add(y0, y2), q = f32x4.add(y1, y3);
  const r = f32x4.add(y0, f32x4.mul(splat(4), y2)), s = f32x4.add(f32x4.mul(splat(2), y1), f32x4.mul(splat(8), y3));
  v128.store(dst, y0);
  v128.store(dst + stride, f32x4.add(p, q));
  v128.store(dst + 2 * stride, f32x4.sub(p, q));
  v128.store(dst + 3 * stride, f32x4.add(r, s));
  v128.store(dst + 4 * stride, f32x4.sub(r, s));
  v128.store(dst + 5 * stride, y3);
}

/** 4x4 transpose: lane j of result i = lane i of input j. Results 0, 1 stored at dstA, dstA + 16; 2, 3 at dstB. */
// @ts-ignore: decorator
@inline function transpose4(a: v128, b: v128, c: v128, d: v128, dstA: usize, dstB: usize): void {
  const t0 = v128.shuffle<f32>(a, b, 0, 4, 1, 5), t1 = v128.shuffle<f32>(a, b, 2, 6, 3, 7);
  const t2 = v128.shuffle<f32>(c, d, 0, 4, 1, 5), t3 = v128.shuffle<f32>(c, d, 2, 6, 3, 7);
  v128.store(dstA, v128.shuffle<f32>(t0, t2, 0, 1, 4, 5));
  v128.store(dstA, v128.shuffle<f32>(t0, t2, 2, 3, 6, 7), 16);
  v128.store(dstB, v128.shuffle<f32>(t1, t3, 0, 1, 4, 5));
  v128.store(dstB, v128.shuffle<f32>(t1, t3, 2, 3, 6, 7), 16);
}

/**
 * The layout of a chunk's tiles (see the file comment): image rows per band, tiles per band, and the
 * byte offset from the first to the third tile of a group in a strip or a plane of rows rowBytes apart.
 */
// @ts-ignore: decorator
@inline function pairs(W: i32): bool {
  return W == 8;
}
// @ts-ignore: decorator
@inline function bandRows(W: i32): i32 {
  return pairs(W) ? 8 : 4;
}
// @ts-ignore: decorator
@inline function bandTiles(W: i32): i32 {
  return pairs(W) ? 4 : W >> 2;
}
// @ts-ignore: decorator
@inline function groupB(W: i32, rowBytes: usize): usize {
  return pairs(W) ? 4 * rowBytes : 32;
}

/** G (g0, g1, g2) for 4 filters at once (one per lane): 6 vectors stored at dst + i * stride. */
// @ts-ignore: decorator
@inline function filterT(g0: v128, g1: v128, g2: v128, dst: usize, stride: usize): void {
  const even = f32x4.add(g0, g2);
  const q = f32x4.add(f32x4.mul(splat(1.0 / 24), g0), f32x4.mul(splat(1.0 / 6), g2)), h = f32x4.mul(splat(1.0 / 12), g1);
  v128.store(dst, f32x4.mul(splat(0.25), g0));
  v128.store(dst + stride, f32x4.mul(splat(-1.0 / 6), f32x4.add(even, g1)));
  v128.store(dst + 2 * stride, f32x4.mul(splat(1.0 / 6), f32x4.sub(g1, even)));
  v128.store(dst + 3 * stride, f32x4.add(q, h));
  v128.store(dst + 4 * stride, f32x4.sub(q, h));
  v128.store(dst + 5 * stride, g2);
}

/** G^T (u0 .. u5) (the adjoint of filterT): 3 vectors stored at dst + i * stride. */
// @ts-ignore: decorator
@inline function filterGradT(u0: v128, u1: v128, u2: v128, u3: v128, u4: v128, u5: v128, dst: usize, stride: usize): void {
  const a = f32x4.mul(splat(1.0 / 6), f32x4.add(u1, u2)), b = f32x4.mul(splat(1.0 / 24), f32x4.add(u3, u4));
  v128.store(dst, f32x4.add(f32x4.sub(f32x4.mul(splat(0.25), u0), a), b));
  v128.store(dst + stride, f32x4.add(f32x4.mul(splat(1.0 / 6), f32x4.sub(u2, u1)), f32x4.mul(splat(1.0 / 12), f32x4.sub(u3, u4))));
  v128.store(dst + 2 * stride, f32x4.add(f32x4.sub(f32x4.mul(splat(4), b), a), u5));
}

/**
 * Ufwd = U = G g G^T for every (k, c) of W [K][C][3][3], four filters k .. k+3 per SIMD vector (the
 * layout [36][K/4][C][4] has them adjacent).
 */
function packWeights(C: i32, K: i32, W: usize, Ufwd: usize): void {
  const xiBytes = <usize>(K * C) * 4;
  const kBytes = <usize>(C * 9) * 4;
  for (let k = 0; k < K; k += 4) {
    for (let c = 0; c < C; c++) {
      // Lane j of Gt = tap t of filter (k + j, c): transposes of taps 0..3 and 4..7, then tap 8.
      const w0 = W + <usize>((k * C + c) * 9) * 4, w1 = w0 + kBytes, w2 = w1 + kBytes, w3 = w2 + kBytes;
      transpose4(v128.load(w0), v128.load(w1), v128.load(w2), v128.load(w3), rowPass, rowPass + 32);
      transpose4(v128.load(w0, 16), v128.load(w1, 16), v128.load(w2, 16), v128.load(w3, 16), rowPass + 64, rowPass + 96);
      let g8 = v128.load32_splat(w0, 32);
      g8 = f32x4.replace_lane(g8, 1, load<f32>(w1, 32));
      g8 = f32x4.replace_lane(g8, 2, load<f32>(w2, 32));
      g8 = f32x4.replace_lane(g8, 3, load<f32>(w3, 32));
      v128.store(rowPass, g8, 128);
      // Gg (6x3) by columns into rowPass + 144.., then each row of Gg times G^T into Ufwd.
      const gg = rowPass + 144;
      for (let j = 0; j < 3; j++) {
        const t = rowPass + <usize>(j * 16);
        filterT(v128.load(t), v128.load(t, 48), v128.load(t, 96), gg + <usize>(j * 16), 48);
      }
      const u = Ufwd + <usize>((k >> 2) * C + c) * 16;
      for (let i = 0; i < 6; i++) {
        const r = gg + <usize>(i * 48);
        filterT(v128.load(r), v128.load(r, 16), v128.load(r, 32), u + <usize>(i * 6) * xiBytes, xiBytes);
      }
    }
  }
}

/** Ubwd [36][C/4][K][4] from Ufwd [36][K/4][C][4]: 4x4 blocks transposed. */
function transposeWeights(C: i32, K: i32, Ufwd: usize, Ubwd: usize): void {
  const xiBytes = <usize>(K * C) * 4;
  for (let xi = 0; xi < 36; xi++) {
    const f = Ufwd + <usize>xi * xiBytes, b = Ubwd + <usize>xi * xiBytes;
    for (let k = 0; k < K; k += 4) {
      for (let c = 0; c < C; c += 4) {
        const src = f + <usize>((k >> 2) * C + c) * 16;
        const dst = b + <usize>((c >> 2) * K + k) * 16;
        transpose4(v128.load(src), v128.load(src, 16), v128.load(src, 32), v128.load(src, 48), dst, dst + 32);
      }
    }
  }
}

/** dW[k][c] (3x3) += G^T dU[.][k][c] G for every (k, c), four input channels per SIMD vector. */
function filterGradOut(C: i32, K: i32, dU: usize, dW: usize): void {
  const xiBytes = <usize>(K * C) * 4;
  const h = rowPass, w = rowPass + 288;
  for (let k = 0; k < K; k++) {
    for (let c = 0; c < C; c += 4) {
      const u = dU + <usize>(k * C + c) * 4;
      // Columns first (h = G^T X, 3x6), then each row of h times G (9 vectors: tap r*3+s, lane = channel).
      for (let j = 0; j < 6; j++) {
        const x = u + <usize>j * xiBytes;
        filterGradT(v128.load(x), v128.load(x + 6 * xiBytes), v128.load(x + 12 * xiBytes), v128.load(x + 18 * xiBytes),
          v128.load(x + 24 * xiBytes), v128.load(x + 30 * xiBytes), h + <usize>(j * 16), 96);
      }
      for (let r = 0; r < 3; r++) {
        const p = h + <usize>(r * 96);
        filterGradT(v128.load(p), v128.load(p, 16), v128.load(p, 32), v128.load(p, 48), v128.load(p, 64), v128.load(p, 80),
          w + <usize>(r * 48), 16);
      }
      const dst = dW + <usize>((k * C + c) * 9) * 4;
      for (let j = 0; j < 4; j++) {
        const o = dst + <usize>(j * 36);
        for (let t = 0; t < 9; t++) {
          const a = o + <usize>t * 4;
          store<f32>(a, load<f32>(a) + load<f32>(w + <usize>(t * 16 + j * 4)));
        }
      }
    }
  }
}

/**
 * V[ξ][c][t .. t+3] for 4 tiles whose zero-bordered 6x6 patches start at srcA (tiles 0, 1: columns 0 .. 5
 * and 4 .. 9) and srcB (tiles 2, 3) of a strip, rows wpBytes apart; the 36 planes xiBytes apart.
 */
// @ts-ignore: decorator
@inline function inputTile4(srcA: usize, srcB: usize, wpBytes: usize, dst: usize, xiBytes: usize): void {
  let ra = srcA, rb = srcB;
  for (let i = 0; i < 6; i++) {
    // Lane j of sJ = column J of tile j: a 4x4 transpose of the tiles' first 4 columns, then columns 4 and 5.
    const a = v128.load(ra), b = v128.load(ra, 16), c = v128.load(rb), e = v128.load(rb, 16);
    const t0 = v128.shuffle<f32>(a, b, 0, 4, 1, 5), t1 = v128.shuffle<f32>(a, b, 2, 6, 3, 7);
    const t2 = v128.shuffle<f32>(c, e, 0, 4, 1, 5), t3 = v128.shuffle<f32>(c, e, 2, 6, 3, 7);
    const u0 = v128.shuffle<f32>(b, v128.load(ra, 32), 0, 4, 1, 5), u1 = v128.shuffle<f32>(e, v128.load(rb, 32), 0, 4, 1, 5);
    inputT(
      v128.shuffle<f32>(t0, t2, 0, 1, 4, 5), v128.shuffle<f32>(t0, t2, 2, 3, 6, 7),
      v128.shuffle<f32>(t1, t3, 0, 1, 4, 5), v128.shuffle<f32>(t1, t3, 2, 3, 6, 7),
      v128.shuffle<f32>(u0, u1, 0, 1, 4, 5), v128.shuffle<f32>(u0, u1, 2, 3, 6, 7),
      rowPass + <usize>(i * 96), 16);
    ra += wpBytes;
    rb += wpBytes;
  }
  for (let j = 0; j < 6; j++) {
    const p = rowPass + <usize>(j * 16);
    inputT(v128.load(p), v128.load(p, 96), v128.load(p, 192), v128.load(p, 288), v128.load(p, 384), v128.load(p, 480),
      dst + <usize>j * xiBytes, <usize>6 * xiBytes);
  }
}

/** Bytes of a strip row: W + 4 floats (zero border column each side, 2 floats read past the right one). */
// @ts-ignore: decorator
@inline function stripRowBytes(W: i32): usize {
  return <usize>(W + 4) * 4;
}

/** Add W floats (W % 4 == 0) from src into dst. */
// @ts-ignore: decorator
@inline function addRow(src: usize, dst: usize, W: i32): void {
  for (let i = 0; i < W; i += 4) {
    const o = <usize>i * 4;
    v128.store(dst + o, f32x4.add(v128.load(dst + o), v128.load(src + o)));
  }
}

/**
 * V for bands gr0 .. gr0+rows-1 (global band = sample * bands per sample + band) of input [n][C][H][W].
 * strip: (bandRows + 2) * (W + 4) floats of scratch.
 */
function inputTransform(C: i32, H: i32, W: i32, input: usize, gr0: i32, rows: i32, V: usize, tcap: i32, strip: usize): void {
  const bH = bandRows(W), tW = bandTiles(W), bands = H / bH;
  const sRow = stripRowBytes(W);
  const rowBytes = <usize>W * 4, planeBytes = <usize>H * rowBytes;
  const xiBytes = xiStride(C, tcap);
  const offB = groupB(W, sRow);
  // Columns 0 and W+1.. stay zero: the rows below only write columns 1 .. W.
  memory.fill(strip, 0, <usize>(bH + 2) * sRow);
  for (let r = 0; r < rows; r++) {
    const g = gr0 + r;
    const b = g / bands;
    const y0 = (g - b * bands) * bH - 1; // image row of strip row 0
    const sample = input + <usize>(b * C) * planeBytes;
    for (let c = 0; c < C; c++) {
      const plane = sample + <usize>c * planeBytes;
      for (let k = 0; k < bH + 2; k++) {
        const y = y0 + k;
        const dst = strip + <usize>k * sRow + 4;
        if (y >= 0 && y < H) copyF32(dst, plane + <usize>y * rowBytes, W);
        else zeroF32(dst, W);
      }
      const dst = V + <usize>(c * tcap + r * tW) * 4;
      for (let tx = 0; tx < tW; tx += 4) {
        const a = strip + <usize>(4 * tx) * 4;
        inputTile4(a, a + offB, sRow, dst + <usize>tx * 4, xiBytes);
      }
    }
  }
}

/** The 4x4 output blocks of 4 tiles (tiles 0, 1 at dstA, 2, 3 at dstB) from M[ξ][k][t .. t+3], plus bias. */
// @ts-ignore: decorator
@inline function outputTile4(m: usize, xiBytes: usize, bias: v128, dstA: usize, dstB: usize, wBytes: usize): void {
  // Columns first (A^T along the 6 rows of each column j), then each row: A^T, bias, transposed into place.
  for (let j = 0; j < 6; j++) {
    const p = m + <usize>j * xiBytes;
    const s: usize = 6 * xiBytes;
    outputT(v128.load(p), v128.load(p + s), v128.load(p + 2 * s), v128.load(p + 3 * s), v128.load(p + 4 * s), v128.load(p + 5 * s),
      rowPass + <usize>(j * 16), 96);
  }
  let da = dstA, db = dstB;
  for (let i = 0; i < 4; i++) {
    const p = rowPass + <usize>(i * 96);
    const m0 = v128.load(p), m1 = v128.load(p, 16), m2 = v128.load(p, 32), m3 = v128.load(p, 48), m4 = v128.load(p, 64), m5 = v128.load(p, 80);
    const a = f32x4.add(m1, m2), b = f32x4.sub(m1, m2), c = f32x4.add(m3, m4), e = f32x4.sub(m3, m4);
    transpose4(
      f32x4.add(f32x4.add(f32x4.add(m0, a), c), bias),
      f32x4.add(f32x4.add(b, f32x4.mul(splat(2), e)), bias),
      f32x4.add(f32x4.add(a, f32x4.mul(splat(4), c)), bias),
      f32x4.add(f32x4.add(f32x4.add(b, f32x4.mul(splat(8), e)), m5), bias),
      da, db);
    da += wBytes;
    db += wBytes;
  }
}

/** out (NCHW) for bands gr0 .. gr0+rows-1 from M. */
function outputTransform(K: i32, H: i32, W: i32, M: usize, tcap: i32, bias: usize, gr0: i32, rows: i32, out: usize): void {
  const bH = bandRows(W), tW = bandTiles(W);
  const wBytes = <usize>W * 4;
  const planeBytes = <usize>H * wBytes;
  const xiBytes = xiStride(K, tcap);
  const offB = groupB(W, wBytes);
  for (let r = 0; r < rows; r++) {
    const rowDst = out + tileRowOffset(gr0 + r, H / bH, bH, K, planeBytes, wBytes);
    for (let k = 0; k < K; k++) {
      const bv = v128.load32_splat(bias + <usize>k * 4);
      const src = M + <usize>(k * tcap + r * tW) * 4;
      const dst = rowDst + <usize>k * planeBytes;
      for (let tx = 0; tx < tW; tx += 4) {
        const a = dst + <usize>(4 * tx) * 4;
        outputTile4(src + <usize>tx * 4, xiBytes, bv, a, a + offB, wBytes);
      }
    }
  }
}

/**
 * out [n][K][H][W] = conv3x3(input [n][C][H][W], W) + bias (stride 1, pad 1), overwriting out.
 * Buffers as winogradForward's with 36 planes: Ufwd / Ubwd 36*K*C floats; V chunks*36*(C*tcap+16);
 * M 36*(K*tcap+16); tcap >= rowsPerChunk * tiles per band, rounded up to 8; strip (bandRows+2)*(W+4).
 * packed & 1: Ufwd already holds these weights' U (an earlier pass with the same weights), else packed here.
 */
export function winograd4Forward(
  n: i32, C: i32, H: i32, W: i32, K: i32, weights: usize, bias: usize, input: usize, out: usize,
  Ufwd: usize, Ubwd: usize, strip: usize, V: usize, M: usize, rowsPerChunk: i32, tcap: i32, packed: i32,
): void {
  if (!(packed & 1)) packWeights(C, K, weights, Ufwd);
  const totalRows = n * (H / bandRows(W));
  const tW = bandTiles(W);
  const chunkBytes: usize = xiStride(C, tcap) * 36;
  let Vc = V;
  for (let gr = 0; gr < totalRows; gr += rowsPerChunk) {
    const rows = min(rowsPerChunk, totalRows - gr);
    inputTransform(C, H, W, input, gr, rows, Vc, tcap, strip);
    chunkGemm(36, K, C, rows * tW, Ufwd, Vc, M, tcap);
    outputTransform(K, H, W, M, tcap, bias, gr, rows, out);
    Vc += chunkBytes;
  }
}

/** Z[ξ][k][t .. t+3] = A dY A^T for 4 tiles whose 4x4 output blocks start at srcA (tiles 0, 1) and srcB. */
// @ts-ignore: decorator
@inline function gradTile4(srcA: usize, srcB: usize, wBytes: usize, dst: usize, xiBytes: usize): void {
  let ra = srcA, rb = srcB;
  for (let i = 0; i < 4; i++) {
    // Lane j of yJ = column J of tile j in this row.
    const a = v128.load(ra), b = v128.load(ra, 16), c = v128.load(rb), e = v128.load(rb, 16);
    const t0 = v128.shuffle<f32>(a, b, 0, 4, 1, 5), t1 = v128.shuffle<f32>(a, b, 2, 6, 3, 7);
    const t2 = v128.shuffle<f32>(c, e, 0, 4, 1, 5), t3 = v128.shuffle<f32>(c, e, 2, 6, 3, 7);
    gradT(
      v128.shuffle<f32>(t0, t2, 0, 1, 4, 5), v128.shuffle<f32>(t0, t2, 2, 3, 6, 7),
      v128.shuffle<f32>(t1, t3, 0, 1, 4, 5), v128.shuffle<f32>(t1, t3, 2, 3, 6, 7),
      rowPass + <usize>(i * 96), 16);
    ra += wBytes;
    rb += wBytes;
  }
  for (let j = 0; j < 6; j++) {
    const p = rowPass + <usize>(j * 16);
    gradT(v128.load(p), v128.load(p, 96), v128.load(p, 192), v128.load(p, 288), dst + <usize>j * xiBytes, <usize>6 * xiBytes);
  }
}

/** Z for bands gr0 .. gr0+rows-1 of dY [n][K][H][W]. */
function gradTransform(K: i32, H: i32, W: i32, dy: usize, gr0: i32, rows: i32, Z: usize, tcap: i32): void {
  const bH = bandRows(W), tW = bandTiles(W);
  const wBytes = <usize>W * 4;
  const planeBytes = <usize>H * wBytes;
  const xiBytes = xiStride(K, tcap);
  const offB = groupB(W, wBytes);
  for (let r = 0; r < rows; r++) {
    const rowSrc = dy + tileRowOffset(gr0 + r, H / bH, bH, K, planeBytes, wBytes);
    for (let k = 0; k < K; k++) {
      const src = rowSrc + <usize>k * planeBytes;
      const dst = Z + <usize>(k * tcap + r * tW) * 4;
      for (let tx = 0; tx < tW; tx += 4) {
        const a = src + <usize>(4 * tx) * 4;
        gradTile4(a, a + offB, wBytes, dst + <usize>tx * 4, xiBytes);
      }
    }
  }
}

/**
 * strip += B dV B^T for 4 tiles: dV[ξ][c][t .. t+3] at src, patches of tiles 0, 1 starting at
 * dstA, of 2, 3 at dstB (a strip, zero-bordered like the input's). Patches overlap by 2 columns: consecutive tiles (pair false) hand columns 4, 5
 * on to the next lane; in pairs, lane 0 to lane 1 and lane 2 to lane 3.
 */
// @ts-ignore: decorator
@inline function inputGradTile4(src: usize, xiBytes: usize, dstA: usize, dstB: usize, wpBytes: usize, pair: bool): void {
  // Columns first (B along the 6 rows of each column j), then each patch row.
  for (let j = 0; j < 6; j++) {
    const p = src + <usize>j * xiBytes;
    const s: usize = 6 * xiBytes;
    inputGradT(v128.load(p), v128.load(p + s), v128.load(p + 2 * s), v128.load(p + 3 * s), v128.load(p + 4 * s), v128.load(p + 5 * s),
      rowPass + <usize>(j * 16), 96);
  }
  let da = dstA, db = dstB;
  for (let i = 0; i < 6; i++) {
    const p = rowPass + <usize>(i * 96);
    const x0 = v128.load(p), x1 = v128.load(p, 16), x2 = v128.load(p, 32), x3 = v128.load(p, 48), x4 = v128.load(p, 64), x5 = v128.load(p, 80);
    const a = f32x4.sub(x1, x2), b = f32x4.sub(x3, x4), c = f32x4.add(x1, x2), e = f32x4.add(x3, x4);
    // Patch columns 4 and 5 (dd4, dd5 = x5) are the right neighbour's columns 0 and 1.
    const dd4 = f32x4.add(f32x4.add(x0, c), e);
    const carry4 = pair ? v128.shuffle<f32>(f32x4.splat(0), dd4, 0, 4, 0, 6) : shiftIn(dd4);
    const carry5 = pair ? v128.shuffle<f32>(f32x4.splat(0), x5, 0, 4, 0, 6) : shiftIn(x5);
    const dd0 = f32x4.add(f32x4.mul(splat(4), x0), carry4);
    const dd1 = f32x4.add(f32x4.add(f32x4.mul(splat(-4), a), f32x4.sub(f32x4.mul(splat(4), x5), f32x4.mul(splat(2), b))), carry5);
    const dd2 = f32x4.sub(f32x4.neg(f32x4.add(f32x4.mul(splat(5), x0), f32x4.mul(splat(4), c))), e);
    const dd3 = f32x4.sub(f32x4.add(a, f32x4.mul(splat(2), b)), f32x4.mul(splat(5), x5));
    const t0 = v128.shuffle<f32>(dd0, dd1, 0, 4, 1, 5), t1 = v128.shuffle<f32>(dd0, dd1, 2, 6, 3, 7);
    const t2 = v128.shuffle<f32>(dd2, dd3, 0, 4, 1, 5), t3 = v128.shuffle<f32>(dd2, dd3, 2, 6, 3, 7);
    v128.store(da, f32x4.add(v128.load(da), v128.shuffle<f32>(t0, t2, 0, 1, 4, 5)));
    v128.store(da, f32x4.add(v128.load(da, 16), v128.shuffle<f32>(t0, t2, 2, 3, 6, 7)), 16);
    v128.store(db, f32x4.add(v128.load(db), v128.shuffle<f32>(t1, t3, 0, 1, 4, 5)));
    v128.store(db, f32x4.add(v128.load(db, 16), v128.shuffle<f32>(t1, t3, 2, 3, 6, 7)), 16);
    if (pair) {
      store<f32>(da, load<f32>(da, 32) + f32x4.extract_lane(dd4, 1), 32);
      store<f32>(da, load<f32>(da, 36) + f32x4.extract_lane(x5, 1), 36);
    }
    store<f32>(db, load<f32>(db, 32) + f32x4.extract_lane(dd4, 3), 32);
    store<f32>(db, load<f32>(db, 36) + f32x4.extract_lane(x5, 3), 36);
    da += wpBytes;
    db += wpBytes;
  }
}

/**
 * dX [n][C][H][W] += the patches' gradients for bands gr0 .. gr0+rows-1 from dV [36][C][tcap], summed
 * per band and channel in a strip (strip rows k = image rows y0 + k, columns shifted by one). A band's
 * last two strip rows are shared with the next band: carried in `carry` (C x 2 strip rows, kept across
 * calls: chunks run in order) and added there; at a sample's last band its last row is padding.
 */
function inputGradTransform(C: i32, H: i32, W: i32, dV: usize, tcap: i32, gr0: i32, rows: i32, dX: usize, strip: usize, carry: usize): void {
  const bH = bandRows(W), tW = bandTiles(W), bands = H / bH;
  const sRow = stripRowBytes(W);
  const rowBytes = <usize>W * 4, planeBytes = <usize>H * rowBytes;
  const xiBytes = xiStride(C, tcap);
  const offB = groupB(W, sRow);
  for (let r = 0; r < rows; r++) {
    const g = gr0 + r;
    const b = g / bands;
    const band = g - b * bands;
    const y0 = band * bH - 1;
    const last = band == bands - 1;
    const sample = dX + <usize>(b * C) * planeBytes;
    for (let c = 0; c < C; c++) {
      const carried = carry + <usize>(2 * c) * sRow;
      if (band > 0) copyF32(strip, carried, 2 * (W + 4));
      else zeroF32(strip, 2 * (W + 4));
      zeroF32(strip + 2 * sRow, bH * (W + 4));
      const src = dV + <usize>(c * tcap + r * tW) * 4;
      if (pairs(W)) {
        inputGradTile4(src, xiBytes, strip, strip + offB, sRow, true);
      } else {
        for (let tx = 0; tx < tW; tx += 4) {
          const a = strip + <usize>(4 * tx) * 4;
          inputGradTile4(src + <usize>tx * 4, xiBytes, a, a + offB, sRow, false);
        }
      }
      const plane = sample + <usize>c * planeBytes;
      const done = last ? bH + 1 : bH;
      for (let k = band > 0 ? 0 : 1; k < done; k++) addRow(strip + <usize>k * sRow + 4, plane + <usize>(y0 + k) * rowBytes, W);
      if (!last) copyF32(carried, strip + <usize>bH * sRow, 2 * (W + 4));
    }
  }
}

/**
 * Gradients of winograd4Forward: dW += dL/dW; if dX != 0, dX += dL/dX (both ACCUMULATED); the bias
 * gradient is not computed here. Buffers as in winograd4Forward, plus dU (36*K*C floats), dV
 * (36*(C*tcap+16), one chunk; first the transposed patches) and gradStrip ((bandRows+2+2*C)*(W+4)
 * floats: a strip and the carried rows); Z reuses the M buffer. haveV != 0: V still holds the forward's
 * transformed patches of this input. packed: bit 0 Ufwd, bit 1 Ubwd already hold these weights' U.
 */
export function winograd4Backward(
  n: i32, C: i32, H: i32, W: i32, K: i32, weights: usize, input: usize, dy: usize, dW: usize, dX: usize,
  Ufwd: usize, Ubwd: usize, strip: usize, V: usize, haveV: i32, Z: usize, dU: usize, dV: usize, gradStrip: usize,
  rowsPerChunk: i32, tcap: i32, packed: i32,
): void {
  const wantDx = dX != 0;
  if (wantDx) {
    if (!(packed & 1)) packWeights(C, K, weights, Ufwd);
    if (!(packed & 2)) transposeWeights(C, K, Ufwd, Ubwd);
  }
  memory.fill(dU, 0, <usize>(36 * K * C) * 4);
  const carry = gradStrip + <usize>(bandRows(W) + 2) * stripRowBytes(W);
  const totalRows = n * (H / bandRows(W));
  const tW = bandTiles(W);
  const chunkBytes: usize = xiStride(C, tcap) * 36;
  let Vc = V;
  for (let gr = 0; gr < totalRows; gr += rowsPerChunk) {
    const rows = min(rowsPerChunk, totalRows - gr);
    const tiles = rows * tW;
    if (!haveV) inputTransform(C, H, W, input, gr, rows, Vc, tcap, strip);
    gradTransform(K, H, W, dy, gr, rows, Z, tcap);
    filterGradChunk(36, C, K, tiles, Z, Vc, tcap, dU, dV);
    if (wantDx) {
      chunkGemm(36, C, K, tiles, Ubwd, Z, dV, tcap);
      inputGradTransform(C, H, W, dV, tcap, gr, rows, dX, gradStrip, carry);
    }
    Vc += chunkBytes;
  }
  filterGradOut(C, K, dU, dW);
}
