import { describe, expect, it } from 'vitest';
import { describeLayer, presetSpec } from '../../src/nn/spec.js';
import { composeChannelBars } from '../../src/viz/channel-bars.js';
import { graphRows, graphText } from '../../src/nn/graph-list.js';

describe('graph layer list', () => {
  const spec = presetSpec('resnet8');
  const rows = graphRows(spec.layers.map((c, i) => ({ index: i, name: c.name, type: c.type, description: describeLayer(c), inputs: c.inputs })));

  it('indents both paths of a residual block and brings the join back out', () => {
    const at = (name: string) => rows.find((r) => r.name === name)!;
    expect(at('stem').depth).toBe(0);
    expect(at('stem').to).toEqual(['s1b1-1-conv', 's1b1-add']);
    expect(at('s1b1-1-conv').depth).toBe(1);
    expect(at('s2b1-proj-conv').depth).toBe(1);
    expect(at('s2b1-proj-conv').from).toEqual(['s1b1']);
    expect(at('s2b1-add').depth).toBe(0);
    expect(at('s2b1-add').from).toEqual(['s2b1-2-bn', 's2b1-proj-bn']);
    expect(at('gap').from).toEqual([]);
  });

  it('a plain chain is a flat list without arrows', () => {
    const chain = graphRows(presetSpec('convnetjs-cifar10').layers.map((c, i) => ({ index: i, name: c.name, type: c.type, description: describeLayer(c), inputs: c.inputs })));
    expect(chain.every((r) => r.depth === 0 && r.from.length === 0 && r.to.length === 0)).toBe(true);
    expect(graphText(rows)[9]).toBe('09 s1b1-add: add (element-wise sum of its inputs)  <- s1b1-2-bn + stem');
  });
});

describe('per-channel bars', () => {
  it('draws one red bar per positive value and one blue per negative, in panels per series', () => {
    const c = composeChannelBars('gamma and beta', 'per channel', [{ name: 'gamma', values: [1, 2, 0.5], reference: 1 }, { name: 'beta', values: [-1, 0.5, 0] }], 'bitmap');
    const colours = new Set<string>();
    for (let i = 0; i < c.data.length; i += 3) colours.add(`${c.data[i]},${c.data[i + 1]},${c.data[i + 2]}`);
    expect(colours.has('178,24,43')).toBe(true);
    expect(colours.has('33,102,172')).toBe(true);
    expect(c.texts.some((t) => t.text === 'gamma')).toBe(true);
  });
});
