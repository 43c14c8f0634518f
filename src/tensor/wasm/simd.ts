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
