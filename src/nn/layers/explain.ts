/**
 * The words of every layer of a built network, from the layer types' own `words` (LayerHints) and the
 * real graph: each layer sees the layers it reads and the layers that read it, with the facts measured
 * on this run's probe. The report and the explorer render these sections; they decide nothing by type.
 */
import { layerDef } from './registry.js';
import type { ExplainContext, LayerConfig, LayerRole, LayerView, LayerWords, NeighbourView, PictureQuantity } from './layer.js';
import { GENERIC_PICTURES } from './wording.js';

/** A layer as the caller knows it (readBy is derived from the inputs). */
export type LayerViewInput = Omit<LayerView, 'readBy'>;

/** Per layer: its role (LayerHints.role, 'other' by default). */
export function layerRole(type: string, config: Record<string, unknown>): LayerRole {
  return layerDef(type).hints.role?.(config as LayerConfig) ?? 'other';
}

function neighbour(v: LayerView): NeighbourView {
  const hints = layerDef(v.type).hints;
  const c = v.config as LayerConfig;
  return {
    ...v,
    role: hints.role?.(c) ?? 'other',
    called: `${hints.noun?.(c) ?? `the ${v.type}`} (layer ${v.index})`,
    passesDown: hints.passesDown?.(c) ?? 'passes its gradient down',
  };
}

/** Each layer with the layers it reads and the layers that read it. */
export function explainContexts(layers: readonly LayerViewInput[]): ExplainContext[] {
  const views: LayerView[] = layers.map((l) => ({ ...l, readBy: [] }));
  for (const v of views) for (const j of v.inputs) views[j]?.readBy.push(v.index);
  const byIndex = new Map(views.map((v) => [v.index, v]));
  const near = (ids: number[]): NeighbourView[] => ids.map((j) => byIndex.get(j)).filter((x): x is LayerView => x !== undefined).map(neighbour);
  return views.map((v) => ({ self: v, prev: near(v.inputs), next: near(v.readBy) }));
}

/** A layer's words in full: its type's words, with the generic words for the pictures it says nothing about. */
export function layerWords(ctx: ExplainContext): LayerWords {
  const own = layerDef(ctx.self.type).hints.words?.(ctx);
  const pictures: Partial<Record<PictureQuantity, string>> = { ...GENERIC_PICTURES, ...own?.pictures };
  return { what: '', ...own, pictures };
}

/** The words of every layer of a network (index i: layer i), for a built network and this run's facts. */
export function explainLayers(layers: readonly LayerViewInput[]): LayerWords[] {
  return explainContexts(layers).map(layerWords);
}

/** The views of a parsed network's layers, without measured facts (the words of a network before any run). */
export function specViews(spec: { layers: readonly LayerConfig[]; shapes: readonly [number, number, number][] }): LayerViewInput[] {
  return spec.layers.map((c, i) => ({
    index: i, type: c.type, name: c.name, config: { ...c }, description: layerDef(c.type).describe(c), inputs: [...c.inputs], outShape: spec.shapes[i], zeros: {},
  }));
}
