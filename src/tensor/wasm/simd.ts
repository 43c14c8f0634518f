/** SIMD helpers shared by the kernel files (AssemblyScript). */

/** a * b + c: one fused multiply-add in the relaxed-SIMD build, mul + add in the plain one. */
// @ts-ignore: decorator
@inline export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    return f32x4.relaxed_madd(a, b, c);
  } else {
    return f32x4.add(c, f32x4.mul(a, b));
  }
}

// memory.copy / memory.fill are calls into the engine: slow for short rows (im2col's 16-32 floats, the
// Winograd strips), and loads right after memory.fill's stores cannot forward from them; short runs
// are copied and zeroed with inline SIMD loops instead (unaligned v128 is fine in wasm).

/** Copy count floats from src to dst. */
// @ts-ignore: decorator
@inline export function copyF32(dst: usize, src: usize, count: i32): void {
  let i = 0;
  for (; i + 4 <= count; i += 4) {
    v128.store(dst, v128.load(src));
    dst += 16;
    src += 16;
  }
  for (; i < count; i++) {
    store<f32>(dst, load<f32>(src));
    dst += 4;
    src += 4;
  }
}

/** Zero count floats at dst. */
// @ts-ignore: decorator
@inline export function zeroF32(dst: usize, count: i32): void {
  const z = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= count; i += 4) {
    v128.store(dst, z);
    dst += 16;
  }
  for (; i < count; i++) {
    store<f32>(dst, 0);
    dst += 4;
  }
}
