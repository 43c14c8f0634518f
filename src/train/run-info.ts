import { promises as fsp, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Cifar10 } from '../data/cifar10.js';
import type { Preprocessing } from '../data/preprocess.js';
import type { ModelSpec } from '../nn/spec.js';
import { kernelsLabel } from '../tensor/wasm.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import type { RunSettings, TrainConfig } from './config.js';

function versionOf(pkgJsonUrl: URL): string | undefined {
  try {
    return (JSON.parse(readFileSync(pkgJsonUrl, 'utf8')) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

/** Versions of what computed the run, for run.json. */
export function versions(): Record<string, string | undefined> {
  return {
    cnnviz: versionOf(new URL('../../package.json', import.meta.url)),
    node: process.versions.node,
    v8: process.versions.v8,
    sharp: versionOf(new URL('../../node_modules/sharp/package.json', import.meta.url)),
  };
}

/** `<out>/run.json`: the full configuration, seed, versions and model spec of a run. */
export async function writeRunJson(
  out: string,
  run: { config: TrainConfig; settings: RunSettings; spec: ModelSpec; data: Cifar10; preprocessing: Preprocessing },
): Promise<void> {
  const json = {
    startedAt: new Date().toISOString(),
    command: process.argv.slice(2),
    seed: run.config.seed,
    config: run.config,
    settings: run.settings,
    versions: versions(),
    // Which kernels computed the run (CNNVIZ_KERNELS; every worker makes the same choice).
    machine: { platform: process.platform, arch: process.arch, kernels: kernelsLabel() },
    data: { dir: run.data.dir, kind: run.data.kind, imageShape: run.data.train.shape, trainImages: run.data.train.count, testImages: run.data.test.count, classNames: run.data.classNames,
      ...(run.data.resizedFrom ? { resizedFrom: run.data.resizedFrom } : {}) },
    preprocessing: run.preprocessing,
    model: { origin: run.spec.origin, layer_defs: run.spec.layerDefs, layers: run.spec.layers, shapes: run.spec.shapes },
  };
  await writeFileAtomic(join(out, 'run.json'), `${JSON.stringify(json, null, 2)}\n`);
}

/**
 * Merge `fields` into `<out>/run.json`, when there is one: what is learnt during the run, e.g. which
 * --viz-steps pictures were skipped and why.
 */
export async function updateRunJson(out: string, fields: Record<string, unknown>): Promise<void> {
  const path = join(out, 'run.json');
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(await fsp.readFile(path, 'utf8')) as Record<string, unknown>;
  } catch {
    return;
  }
  await writeFileAtomic(path, `${JSON.stringify({ ...json, ...fields }, null, 2)}\n`);
}
