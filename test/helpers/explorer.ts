/** Reads the report explorer's per-layer files (explorer/layer-LLL.js) the way the page does. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ExplorerLayerFile {
  index: number;
  key: string;
  note: string;
  words: Record<string, string>;
  /** Title and text of the layer's extra pictures, by kind (its LayerWords.channels / .branches). */
  extraWords: Partial<Record<'channels' | 'branches', [string, string]>>;
  animations: { file: string; frames: number; quantity: string }[];
  moments: {
    files: Record<string, string>;
    noPicture: Record<string, string>;
    stats: string;
    ranges: Record<string, { min: number; max: number; mean: number; std: number; zeroFraction: number }>;
    pictureScales: Record<string, { scale: number; clipped: number; count: number }>;
    patches?: { png: string };
    extras?: { file: string; kind: string }[];
  }[];
}

function unwrap<T>(text: string, fn: string): T {
  const m = new RegExp(`^${fn}\\((.*)\\);\\n$`, 's').exec(text);
  if (!m) throw new Error(`not a ${fn} file`);
  return JSON.parse(m[1]) as T;
}

export function readExplorerLayer(out: string, index: number): ExplorerLayerFile {
  return unwrap<ExplorerLayerFile>(readFileSync(join(out, 'explorer', `layer-${String(index).padStart(3, '0')}.js`), 'utf8'), 'cnnvizExplorerLayer');
}

export function readExplorerIndex(out: string): { layers: { index: number; inputs: number[]; depth: number; skip?: boolean }[]; moments: { dir: string; label: string; data: boolean }[] } {
  return unwrap(readFileSync(join(out, 'explorer', 'index.js'), 'utf8'), 'cnnvizExplorerIndex');
}

/** Every file the explorer links for a layer (pictures, top patches, extras, animations, stats.json). */
export function explorerReferences(out: string): string[] {
  const idx = readExplorerIndex(out);
  const refs: string[] = [];
  for (const l of idx.layers) {
    const f = readExplorerLayer(out, l.index);
    for (const m of f.moments) {
      refs.push(...Object.values(m.files), ...(m.extras ?? []).map((x) => x.file));
      if (m.patches) refs.push(m.patches.png);
    }
    refs.push(...f.animations.map((a) => a.file));
  }
  return refs;
}
