/**
 * Depthwise convolution (groups = input channels: MobileNet, EfficientNet), AssemblyScript. Each output
 * channel o reads one input channel, o / mult (mult = outC / inC, the channel multiplier), through its
 * own kH x kW filter: too little work per channel for im2col + gemm, so a direct kernel. For each tap
 * (ky, kx) the valid output columns are computed once, and stride-1 rows go 4 floats at a time:
 *   out[o, y, x]  = bias[o] + sum_{ky,kx} w[o, ky, kx] * in[c, y*stride - pad + ky, x*stride - pad + kx]
 *   dW[o, ky, kx] += sum_{y,x} dy[o, y, x] * in[c, ...]          db[o] += sum dy[o]
 *   dx[c, ...]    += w[o, ky, kx] * dy[o, y, x]
 * Same contract as conv2dForward / conv2dBackward with groups = inC; the order of summation depends only
 * on the shapes.
 */
import { madd } from './simd';

/** First output index whose input index o*stride - pad + k is >= 0, clamped to [0, outSize]. */
// @ts-ignore: decorator
@inline function firstOut(k: i32, stride: i32, pad: i32, outSize: i32): i32 {
  const num = pad - k;
  let lo = num <= 0 ? 0 : (num + stride - 1) / stride;
  return lo > outSize ? outSize : lo;
}

/** One past the last output index whose input index is < inSize, clamped to [lo, outSize]. */
// @ts-ignore: decorator
@inline function endOut(k: i32, stride: i32, pad: i32, inSize: i32, outSize: i32, lo: i32): i32 {
  const num = inSize - 1 + pad - k;
  const hi = num < 0 ? 0 : num / stride + 1;
  return hi < lo ? lo : hi > outSize ? outSize : hi;
}

export function depthwiseForward(
  n: i32, inC: i32, inH: i32, inW: i32, mult: i32, kH: i32, kW: i32, stride: i32, pad: i32, outH: i32, outW: i32,
  input: usize, W: usize, bias: usize, out: usize,
): void {
  const outC = inC * mult;
  const P = outH * outW;
  for (let b = 0; b < n; b++) {
    for (let o = 0; o < outC; o++) {
      const c = o / mult;
      const inPlane = input + <usize>((b * inC + c) * inH * inW) * 4;
      const outPlane = out + <usize>((b * outC + o) * P) * 4;
      const bv = load<f32>(bias + <usize>o * 4);
      for (let i = 0; i < P; i++) store<f32>(outPlane + <usize>i * 4, bv);
      for (let ky = 0; ky < kH; ky++) {
        const oyLo = firstOut(ky, stride, pad, outH);
        const oyHi = endOut(ky, stride, pad, inH, outH, oyLo);
        for (let kx = 0; kx < kW; kx++) {
          const w = load<f32>(W + <usize>((o * kH + ky) * kW + kx) * 4);
          const wv = f32x4.splat(w);
          const oxLo = firstOut(kx, stride, pad, outW);
          const oxHi = endOut(kx, stride, pad, inW, outW, oxLo);
          for (let oy = oyLo; oy < oyHi; oy++) {
            const iy = oy * stride - pad + ky;
            let dst = outPlane + <usize>(oy * outW + oxLo) * 4;
            let src = inPlane + <usize>(iy * inW + oxLo * stride - pad + kx) * 4;
            let ox = oxLo;
            if (stride == 1) {
              for (; ox + 4 <= oxHi; ox += 4) {
                v128.store(dst, madd(wv, v128.load(src), v128.load(dst)));
                dst += 16;
                src += 16;
              }
            }
            const step = <usize>stride * 4;
            for (; ox < oxHi; ox++) {
              store<f32>(dst, load<f32>(dst) + w * load<f32>(src));
              dst += 4;
              src += step;
            }
          }
        }
      }
    }
  }
}

/** Gradients: dW and db ADDED into; dx ADDED into unless hasDx is 0. */
export function depthwiseBackward(
  n: i32, inC: i32, inH: i32, inW: i32, mult: i32, kH: i32, kW: i32, stride: i32, pad: i32, outH: i32, outW: i32,
  input: usize, W: usize, dy: usize, dx: usize, hasDx: i32, dW: usize, db: usize,
): void {
  const outC = inC * mult;
  const P = outH * outW;
  for (let b = 0; b < n; b++) {
    for (let o = 0; o < outC; o++) {
      const c = o / mult;
      const inOff = <usize>((b * inC + c) * inH * inW) * 4;
      const inPlane = input + inOff;
      const dxPlane = dx + inOff;
      const dyPlane = dy + <usize>((b * outC + o) * P) * 4;
      let bs: f32 = 0;
      for (let i = 0; i < P; i++) bs += load<f32>(dyPlane + <usize>i * 4);
      store<f32>(db + <usize>o * 4, load<f32>(db + <usize>o * 4) + bs);
      for (let ky = 0; ky < kH; ky++) {
        const oyLo = firstOut(ky, stride, pad, outH);
        const oyHi = endOut(ky, stride, pad, inH, outH, oyLo);
        for (let kx = 0; kx < kW; kx++) {
          const wAt = W + <usize>((o * kH + ky) * kW + kx) * 4;
          const w = load<f32>(wAt);
          const wv = f32x4.splat(w);
          const oxLo = firstOut(kx, stride, pad, outW);
          const oxHi = endOut(kx, stride, pad, inW, outW, oxLo);
          let acc = f32x4.splat(0);
          let sum: f32 = 0;
          for (let oy = oyLo; oy < oyHi; oy++) {
            const iy = oy * stride - pad + ky;
            let g = dyPlane + <usize>(oy * outW + oxLo) * 4;
            const srcOff = <usize>(iy * inW + oxLo * stride - pad + kx) * 4;
            let src = inPlane + srcOff;
            let gx = dxPlane + srcOff;
            let ox = oxLo;
            if (stride == 1) {
              for (; ox + 4 <= oxHi; ox += 4) {
                const gv = v128.load(g);
                acc = madd(gv, v128.load(src), acc);
                if (hasDx) v128.store(gx, madd(wv, gv, v128.load(gx)));
                g += 16;
                src += 16;
                gx += 16;
              }
            }
            const step = <usize>stride * 4;
            for (; ox < oxHi; ox++) {
              const gs = load<f32>(g);
              sum += gs * load<f32>(src);
              if (hasDx) store<f32>(gx, load<f32>(gx) + w * gs);
              g += 4;
              src += step;
              gx += step;
            }
          }
          const total = sum + f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3);
          const dwAt = dW + <usize>((o * kH + ky) * kW + kx) * 4;
          store<f32>(dwAt, load<f32>(dwAt) + total);
        }
      }
    }
  }
}
