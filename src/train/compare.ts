/**
 * Pictures of several runs at one colour scale, for the runs page of `cnnviz serve out/`.
 *
 * Each run's own pictures use the scale of that picture (or of its run), so two runs' PNGs side by
 * side cannot be compared by colour. Here every run's checkpoint of the chosen epoch goes through
 * the same probe images (those of the first run), and for every layer and quantity the scale s is
 * the largest |value| over all the runs; each run's pictures are then drawn with that s fixed (the
 * `run` scale mode with a preset scale state), so equal colours mean equal values, and the captions
 * print s and count the values beyond it (none, by construction).
 * Cost: one probe pass and one epoch of pictures per run (about a second each for the default network).
 */
import { join } from 'node:path';
import { loadDataset, type DataOptions, type Dataset } from '../data/dataset.js';
import { loadModel, networkFor } from '../nn/snapshot.js';
import { UserError } from '../util/errors.js';
import { epochDirName, layerDirName, writeEpochViz, type EpochVizSummary } from '../viz/epoch.js';
import { QUANTITY_TITLES } from '../viz/explain.js';
import { QUANTITIES, type Quantity } from '../viz/grid.js';
import { maxAbs, type VizScaleState } from '../viz/scale.js';
import type { LayerProbe, ProbeResult } from '../viz/types.js';
import { chooseProbe, probeSplit } from './probe.js';
import { checkpointPath } from './trainer.js';
import { readRegularText } from '../util/regular-file.js';

export interface ComparisonLayer {
  title: string;
  quantities: { quantity: Quantity; title: string; scale: number; files: (string | null)[] }[];
}

export interface Comparison {
  epoch: number;
  note: string;
  probeIndices: number[];
  layers: ComparisonLayer[];
}

interface RunJson {
  config?: { data?: string; dataset?: DataOptions; seed?: number; probe?: number[]; probeCount?: number };
}

function quantityData(l: LayerProbe, q: Quantity): Float32Array | undefined {
  if (q === 'activations') return l.activations;
  if (q === 'activation-gradients') return l.activationGrads;
  if (q === 'weights') return l.weights?.data;
  return l.weightGrads;
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readRegularText(path)) as T;
  } catch {
    return undefined;
  }
}

/**
 * Draws epoch `epoch` of each run folder in `runDirs` into `outDir/<i>/epoch-NNN/...` at shared
 * scales and returns the layers with each run's picture file (relative to outDir; null when a run
 * has no such picture, e.g. a different network).
 */
export async function drawComparison(runDirs: string[], names: string[], epoch: number, outDir: string): Promise<Comparison> {
  if (runDirs.length === 0) throw new UserError('choose at least one run');
  const data = new Map<string, Promise<Dataset>>();
  const first = (await readJson<RunJson>(join(runDirs[0], 'run.json')))?.config ?? {};
  if (!first.data) throw new UserError(`${names[0]}: run.json names no data folder`);
  // The first run's probe images (as drawn in its epoch folder), for every run.
  const probeFile = await readJson<{ predictions?: { testIndex: number }[] }>(join(runDirs[0], epochDirName(epoch), 'probe.json'));
  let probeIndices = probeFile?.predictions?.map((p) => p.testIndex).filter((i) => i >= 0);

  const probes: ProbeResult[] = [];
  let classNames: string[] = [];
  for (let i = 0; i < runDirs.length; i++) {
    const ckpt = checkpointPath(runDirs[i], epoch);
    let model;
    try {
      model = loadModel(ckpt);
    } catch (e) {
      throw new UserError(`${names[i]}: no checkpoint for epoch ${epoch} (${(e as Error).message})`);
    }
    const config = (await readJson<RunJson>(join(runDirs[i], 'run.json')))?.config ?? {};
    const dir = config.data ?? first.data;
    // Read as the run recorded it (a run without a record read CIFAR-10).
    if (!data.has(dir)) data.set(dir, loadDataset(dir, { ...(config.dataset ?? { kind: 'cifar-10' }), trainLimit: 0, defaultShape: model.spec.shapes[0] }));
    let cifar: Dataset;
    try {
      cifar = await data.get(dir)!;
    } catch (e) {
      throw new UserError(`${names[i]}: cannot read the test images of ${dir} (from run.json): ${(e as Error).message}`);
    }
    classNames = model.snapshot?.classNames ?? cifar.classNames;
    probeIndices ??= chooseProbe(cifar.test.count, first.seed ?? 1, first.probeCount ?? 8, first.probe);
    const net = networkFor(model, config.seed ?? 1);
    probes.push(probeSplit(net, cifar.test, probeIndices.filter((k) => k < cifar.test.count), model.snapshot?.preprocessing ?? { kind: 'scale' }));
  }

  // One scale per layer and quantity: the largest |value| over the runs.
  const state: VizScaleState = { version: 1, entries: {} };
  for (const probe of probes) {
    for (const l of probe.layers) {
      for (const q of QUANTITIES) {
        const d = quantityData(l, q);
        if (!d || d.length === 0) continue;
        const key = `${layerDirName(l.index, l.type)}/${q}`;
        state.entries[key] = { scale: Math.max(state.entries[key]?.scale ?? 0, maxAbs(d)), epoch };
      }
    }
  }
  const summaries: EpochVizSummary[] = [];
  for (let i = 0; i < probes.length; i++) {
    summaries.push(
      await writeEpochViz(join(outDir, String(i)), epoch, probes[i], { scale: 'run', scaleState: structuredClone(state), classNames, animations: 'none', explorerData: 'off' }),
    );
  }
  const layers: ComparisonLayer[] = summaries[0].layers.map((l) => {
    const dirName = layerDirName(l.index, l.type);
    return {
      title: `Layer ${l.index} · ${l.type} — ${l.description}`,
      quantities: QUANTITIES.filter((q) => l.files[q]).map((q) => ({
        quantity: q,
        title: QUANTITY_TITLES[q],
        scale: state.entries[`${dirName}/${q}`]?.scale ?? 0,
        files: summaries.map((s, i) => {
          const same = s.layers.find((x) => layerDirName(x.index, x.type) === dirName);
          return same?.files[q] ? `${i}/${same.files[q]}` : null;
        }),
      })),
    };
  });
  const used = probeIndices ?? [];
  return {
    epoch,
    probeIndices: used,
    layers,
    note:
      `Epoch ${epoch} of each run, from its checkpoint, on the same ${used.length} test images (${used.join(', ')}). ` +
      'In each row all pictures share one colour scale: the largest |value| of that picture over the chosen runs, so equal colours mean equal values.',
  };
}
