/**
 * Small helpers the layer files write their words with (LayerHints.words): percentages, naming the
 * neighbours of a node, and the sentence "this gradient comes down from X, which ...", so that every
 * explanation names the layers that really come before and after it in this network.
 */
import type { ExplainContext, LayerRole, NeighbourView, PictureQuantity } from './layer.js';

/** "12.3%", "<0.1%" for tiny non-zero fractions. */
export function pct(f: number): string {
  const p = 100 * f;
  if (p > 0 && p < 0.1) return '<0.1%';
  return `${p.toFixed(1)}%`;
}

/** The sentence with its first letter in capitals. */
export function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** "A", "A and B", "A, B and C". */
export function listWords(items: string[]): string {
  if (items.length <= 1) return items[0] ?? '';
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/** The neighbours' names in a sentence: "the ReLU (layer 3) and the add (layer 7)". */
export function called(ns: readonly NeighbourView[]): string {
  return listWords(ns.map((n) => n.called));
}

/** The single layer reading this one, if exactly one does. */
export function onlyNext(ctx: ExplainContext): NeighbourView | undefined {
  return ctx.next.length === 1 ? ctx.next[0] : undefined;
}

export function onlyPrev(ctx: ExplainContext): NeighbourView | undefined {
  return ctx.prev.length === 1 ? ctx.prev[0] : undefined;
}

export function hasRole(n: NeighbourView | undefined, ...roles: LayerRole[]): n is NeighbourView {
  return n !== undefined && roles.includes(n.role);
}

/** Roles of the non-linear activations (what the four questions call "the first activation"). */
export const ACTIVATION_ROLES: readonly LayerRole[] = ['gate', 'leaky-gate', 'squash'];

/** Measured zero fraction of a picture, as a sentence ('' when not measured). */
export function zerosSentence(ctx: ExplainContext, q: PictureQuantity, what = 'this picture\u2019s values'): string {
  const z = ctx.self.zeros[q];
  return z === undefined ? '' : `Measured: ${pct(z)} of ${what} are exactly 0.`;
}

/**
 * Where an activation gradient comes from: "It comes down from the ReLU (layer 3), which passes the
 * gradient only where it fired." For several readers: the sum of what each hands down.
 */
export function gradientFrom(ctx: ExplainContext): string {
  const next = ctx.next;
  if (next.length === 0) return 'No layer reads this output, so its gradient is 0.';
  if (next.length === 1) return `It comes down from ${next[0].called}, which ${next[0].passesDown}.`;
  return `${next.length} layers read this output, so its gradient is the sum of what each hands down: ${next.map((n) => `${n.called} ${n.passesDown}`).join('; ')}.`;
}

/** "the conv (layer 1)" of the layer below, or "its inputs". */
export function below(ctx: ExplainContext): string {
  return ctx.prev.length > 0 ? called(ctx.prev) : 'the layer below';
}

/** The default words of each picture, for layers whose type says nothing more about it. */
export const GENERIC_PICTURES: Record<PictureQuantity, string> = {
  activations: "This layer's output for each probe image: one row per image, one tile per output channel.",
  'activation-gradients':
    "d(loss)/d(this layer's output) for the same images: how the loss would change if that output value went up. Red = raising it would raise the loss, blue = lower it, white = no effect.",
  weights: "The layer's learned parameters: one row per filter or unit, one tile per input channel it reads.",
  'weight-gradients':
    'd(loss)/d(weights) from the probe images (evaluation mode): the direction that would increase the loss on them. Training updates the weights the opposite way, with the gradients of its own batches: w \u2190 w \u2212 learning rate \u00d7 gradient.',
};

/** The activation-gradient words most layers without weights share: where it comes from, measured zeros, what goes below. */
export function passThroughGradient(ctx: ExplainContext, own: string): string {
  return [`d(loss)/d(output). ${gradientFrom(ctx)}`, zerosSentence(ctx, 'activation-gradients'), own ? `Going down, this layer ${own}.` : ''].filter(Boolean).join(' ');
}
