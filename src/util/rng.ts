/**
 * Seeded pseudo-random numbers. Two kinds:
 * - `Rng`: a sequential generator (mulberry32) for things drawn once in a fixed order (initial weights,
 *   the epoch's shuffle, the probe).
 * - `hashUniform`: a counter-based generator, a pure function of its keys, for randomness that must not
 *   depend on which worker draws it (dropout masks, augmentation of sample i in epoch e).
 */
export class Rng {
  private state: number;
  private spareNormal: number | null = null;

  constructor(seed: number) {
    this.state = (seed >>> 0) ^ 0x9e3779b9;
  }

  /** Uniform in [0, 1), 32 bits of randomness. */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Standard normal draw (Box-Muller, as ConvNetJS's randn uses a Gaussian too). */
  normal(mean = 0, std = 1): number {
    if (this.spareNormal !== null) {
      const v = this.spareNormal;
      this.spareNormal = null;
      return mean + std * v;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return mean + std * r * Math.cos(2 * Math.PI * v);
  }

  /** Fisher-Yates shuffle of 0..n-1. */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }
}

/** 32-bit integer hash (lowbias32 by Chris Wellons): good avalanche, cheap. */
export function hash32(x: number): number {
  x = x >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** Combine keys into one 32-bit hash, order-sensitive. */
export function hashKeys(a: number, b: number, c = 0, d = 0): number {
  let h = hash32(a ^ 0x243f6a88);
  h = hash32(h ^ (b >>> 0));
  h = hash32(h ^ (c >>> 0));
  h = hash32(h ^ (d >>> 0));
  return h;
}

/** Uniform in [0, 1) as a pure function of its keys (counter-based). */
export function hashUniform(a: number, b: number, c = 0, d = 0): number {
  return hashKeys(a, b, c, d) / 4294967296;
}
