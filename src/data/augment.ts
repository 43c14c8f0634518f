/**
 * On-the-fly augmentation as in the ConvNetJS CIFAR-10 demo: a random left-right flip and a random
 * shift of up to 2 pixels in x and y (convnetjs.augment(V, 32, dx, dy, flip) with
 * dx, dy = floor(random*5 - 2)). Pixels shifted in from outside the image are 0 in input units
 * (after preprocessing), as convnetjs.augment's crop fills with zeros.
 *
 * The choice for a record is a pure function of (seed, epoch, record index) through hashUniform, so it
 * does not depend on how batches are split between workers.
 */
import { hashUniform } from '../util/rng.js';
import { UserError } from '../util/errors.js';

export interface Augmentation {
  flip: boolean;
  /** Largest shift in pixels along x and y (0 = no shift). */
  shift: number;
}

/** What augmentation does to one record. */
export interface AugmentDraw {
  flip: boolean;
  /** Output pixel (x, y) takes source pixel (x + dx, y + dy) before the flip; out-of-image = 0. */
  dx: number;
  dy: number;
}

export const DEFAULT_SHIFT = 2;
export const MAX_SHIFT = 16;
export const AUGMENT_NONE: Augmentation = { flip: false, shift: 0 };

/** Keeps augmentation draws apart from other hashUniform users keyed by the same seed (dropout...). */
const AUG_DOMAIN = 0x41554731; // 'AUG1'

/**
 * Parse `--augment`: a comma list of `flip` and `shift` (or `shift=N`, N in 0..16 pixels, default 2),
 * or `none`.
 */
export function parseAugment(spec: string): Augmentation {
  const items = spec
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s.length > 0);
  if (items.length === 0) throw new UserError(`--augment: empty value; use flip, shift, flip,shift or none`);
  if (items.includes('none')) {
    if (items.length > 1) throw new UserError(`--augment: "none" cannot be combined with other items (got "${spec}")`);
    return { ...AUGMENT_NONE };
  }
  const aug: Augmentation = { flip: false, shift: 0 };
  for (const item of items) {
    if (item === 'flip') {
      aug.flip = true;
    } else if (item === 'shift') {
      aug.shift = DEFAULT_SHIFT;
    } else if (/^shift=\d+$/.test(item)) {
      const n = Number(item.slice(6));
      if (n > MAX_SHIFT) throw new UserError(`--augment: "${item}": shift must be at most ${MAX_SHIFT} pixels`);
      aug.shift = n;
    } else {
      throw new UserError(`--augment: unknown item "${item}" (expected flip, shift, shift=N or none)`);
    }
  }
  return aug;
}

export function formatAugment(aug: Augmentation | null): string {
  if (!aug || (!aug.flip && aug.shift === 0)) return 'none';
  const parts: string[] = [];
  if (aug.flip) parts.push('flip');
  if (aug.shift > 0) parts.push(aug.shift === DEFAULT_SHIFT ? 'shift' : `shift=${aug.shift}`);
  return parts.join(',');
}

/** Flip decision for a record (pure). */
export function augmentFlip(seed: number, epoch: number, index: number): boolean {
  return hashUniform((seed ^ AUG_DOMAIN) >>> 0, epoch, index, 0) < 0.5;
}

/** Shift along x (axis 0) or y (axis 1) for a record, uniform in -shift..shift (pure). */
export function augmentShift(seed: number, epoch: number, index: number, axis: 0 | 1, shift: number): number {
  if (shift <= 0) return 0;
  return Math.floor(hashUniform((seed ^ AUG_DOMAIN) >>> 0, epoch, index, 1 + axis) * (2 * shift + 1)) - shift;
}

/** Everything augmentation does to record `index` in `epoch` (pure function of its arguments). */
export function augmentDraw(aug: Augmentation, seed: number, epoch: number, index: number): AugmentDraw {
  return {
    flip: aug.flip && augmentFlip(seed, epoch, index),
    dx: augmentShift(seed, epoch, index, 0, aug.shift),
    dy: augmentShift(seed, epoch, index, 1, aug.shift),
  };
}
