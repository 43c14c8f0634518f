/**
 * A layer type owns everything about itself in its file under src/nn/layers: nothing else in src/
 * decides by comparing a layer's type with a name (`x.type === 'conv'`, `case 'relu':`, a table keyed
 * by type names). Definitions that build layers by name (presets, the ONNX import) are not comparisons.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { layerTypes } from '../../src/nn/layers/registry.js';

const SRC = join(import.meta.dirname, '..', '..', 'src');
const LAYERS = join(SRC, 'nn', 'layers');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) return p === LAYERS || n === 'wasm' ? [] : sources(p);
    return /\.ts$/.test(n) ? [p] : [];
  });
}

/** Comparisons with one of `names` in TypeScript source text: ===, !==, ==, !=, case and includes([...]). */
export function typeNameComparisons(text: string, names: readonly string[]): string[] {
  const alt = names.map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|');
  const q = `['"\`](?:${alt})['"\`]`;
  const patterns = [
    new RegExp(`[!=]==?\\s*${q}`, 'g'),
    new RegExp(`${q}\\s*[!=]==?`, 'g'),
    new RegExp(`case\\s+${q}\\s*:`, 'g'),
    new RegExp(`\\[\\s*${q}(?:\\s*,\\s*['"\`][^'"\`]*['"\`])*\\s*\\]\\.includes\\(`, 'g'),
  ];
  // Comments may name layer types freely.
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:])\/\/.*$/gm, '$1');
  return patterns.flatMap((re) => [...code.matchAll(re)].map((m) => m[0]));
}

describe('no layer type names outside src/nn/layers', () => {
  it('finds comparisons of every kind (the check itself can fail)', () => {
    const names = ['conv', 'relu'];
    expect(typeNameComparisons("if (l.type === 'conv') x();", names)).toHaveLength(1);
    expect(typeNameComparisons("if ('relu' !== t) x();", names)).toHaveLength(1);
    expect(typeNameComparisons("switch (k) { case 'relu': break; }", names)).toHaveLength(1);
    expect(typeNameComparisons("if (['conv', 'pool'].includes(t)) x();", names)).toHaveLength(1);
    expect(typeNameComparisons("// l.type === 'conv' in a comment\nconst d = { type: 'conv' };", names)).toHaveLength(0);
  });

  it('src/ outside src/nn/layers compares no layer type with a name', () => {
    const names = layerTypes();
    expect(names).toEqual(expect.arrayContaining(['conv', 'relu', 'pool', 'batchnorm', 'add', 'softmax']));
    const found = sources(SRC).flatMap((f) => typeNameComparisons(readFileSync(f, 'utf8'), names).map((m) => `${relative(SRC, f)}: ${m}`));
    expect(found).toEqual([]);
  });
});
