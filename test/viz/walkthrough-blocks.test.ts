/**
 * The walkthroughs and questions of today's networks: conv -> batch norm -> ReLU and a residual block
 * (resnet8), their numbers checked against the probe's data, and the four questions for any network
 * (also one without conv or pooling: the section and its link are always there).
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Network } from '../../src/nn/network.js';
import { parseSpec, presetSpec, type ModelSpec } from '../../src/nn/spec.js';
import { runProbe } from '../../src/train/probe.js';
import { Rng } from '../../src/util/rng.js';
import { writeEpochViz } from '../../src/viz/epoch.js';
import { writeReport } from '../../src/viz/report.js';
import type { ProbeResult } from '../../src/viz/types.js';
import { computeBnWalkthrough, computeResidualWalkthrough, findResidualBlocks } from '../../src/viz/walkthrough-blocks.js';
import { CIFAR_CLASSES } from './fake-probe.js';

function probeOf(spec: ModelSpec, P = 2): ProbeResult {
  const net = new Network(spec);
  net.initialize(9);
  // Running statistics away from 0 / 1, as after training.
  const rng = new Rng(2);
  for (const l of net.layers) for (const t of l.state) t.data.forEach((_, i) => (t.data[i] = t.name === 'runningVar' ? 0.5 + rng.next() : 0.2 * (rng.next() - 0.5)));
  const [c, h, w] = spec.shapes[0];
  const raw = new Uint8Array(P * c * h * w).map((_, i) => Math.floor(128 + 100 * Math.sin(i / 41) * rng.next()));
  return runProbe(net, Float32Array.from(raw, (v) => v / 255 - 0.5), Int32Array.from({ length: P }, (_, i) => i % 10), raw, Array.from({ length: P }, (_, i) => i));
}

function norm(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return Math.sqrt(s);
}

async function report(spec: ModelSpec): Promise<string> {
  const out = mkdtempSync(join(tmpdir(), 'cnnviz-walk-'));
  await writeEpochViz(out, 1, probeOf(spec), { classNames: CIFAR_CLASSES, scale: 'robust', animations: 'none' });
  await writeReport(out, { name: 't', model: 'm', classNames: CIFAR_CLASSES, metrics: [] });
  return readFileSync(join(out, 'index.html'), 'utf8');
}

describe('resnet8: conv -> batch norm -> ReLU and residual blocks', () => {
  const spec = presetSpec('resnet8');
  let probe: ProbeResult;
  let html: string;
  beforeAll(async () => {
    probe = probeOf(spec);
    html = await report(spec);
  });

  it('batch norm walkthrough: the stem chain; in evaluation mode the gradient ratio is gamma/sigma per channel', () => {
    const d = computeBnWalkthrough(probe)!;
    expect(d.layers).toEqual({ conv: 1, bn: 2, relu: 3 });
    for (const c of d.perChannel) {
      expect(c.gradRatio).toBeGreaterThan(0);
      expect(c.gradRatio / c.gammaOverSigma).toBeCloseTo(1, 4);
      expect(c.runningStd).toBeCloseTo(Math.sqrt(probe.layers[2].state!.find((s) => s.name === 'runningVar')!.values[c.channel] + 1e-5), 6);
    }
  });

  it('residual blocks: branch and shortcut found by the graph; the shortcut carries the add\u2019s gradient, the branch the rest', () => {
    const blocks = findResidualBlocks(probe.layers);
    expect(blocks.map((b) => [b.add, b.branch, b.shortcut, b.start, b.branchLayers, b.shortcutLayers])).toEqual([
      [9, 8, 3, 3, 5, 0],
      [18, 15, 17, 10, 5, 2],
      [27, 24, 26, 19, 5, 2],
    ]);
    const d = computeResidualWalkthrough(probe)!;
    const first = d.blocks[0];
    const addGrad = probe.layers[9].activationGrads;
    const startGrad = probe.layers[3].activationGrads;
    expect(first.shortcutPart).toBeCloseTo(norm(addGrad), 6);
    expect(first.branchPart).toBeCloseTo(norm(startGrad.map((v, i) => v - addGrad[i])), 6);
    expect(first.atStart).toBeCloseTo(norm(startGrad), 6);
    // A projection shortcut's parts are not separated.
    expect(d.blocks[1].shortcutPart).toBeUndefined();
  });

  it('the report draws both walkthroughs and answers the four and the next questions for this network', () => {
    expect(html).toContain('id="e1-walkthrough-batchnorm"');
    expect(html).toContain('id="e1-walkthrough-residual"');
    expect(html).not.toContain('id="e1-walkthrough"');
    expect(html).toContain('href="#questions"');
    const q = /<h2 id="questions">[\s\S]*?<ol class="questions">([\s\S]*?)<\/ol>/.exec(html)![1].split('<li>').slice(1);
    expect(q).toHaveLength(4);
    expect(q[1]).toContain('It comes down from batch norm (layer 2)');
    expect(q[1]).not.toMatch(/ReLU above|ReLU comes next/);
    expect(q[3]).toMatch(/no pooling layer[\s\S]*Layer 11 is a conv with stride 2/);
    const next = /<h2 id="next-questions">[\s\S]*?<ol class="questions">([\s\S]*?)<\/ol>/.exec(html)![1];
    expect(next).toMatch(/Weight sharing/);
    expect(next).toMatch(/shared|all 1,024 positions/);
    expect(next).toMatch(/non-linearity/);
    expect(next).toMatch(/What does batch norm do\?/);
    expect(next).toMatch(/Why do residual connections help\?[\s\S]*s1b1-add: via the shortcut/);
    expect(html).toContain('id="which-gradient"');
  });
});

describe('the four questions exist for any network', () => {
  it('a network without conv or pooling still has the section, its link, and says what it lacks', async () => {
    const spec = parseSpec([{ type: 'input', out_sx: 8, out_sy: 8, out_depth: 3 }, { type: 'fc', num_neurons: 6, activation: 'tanh' }, { type: 'softmax', num_classes: 10 }], 'mlp');
    const html = await report(spec);
    expect(html).toContain('href="#questions"');
    const q = /<h2 id="questions">[\s\S]*?<ol class="questions">([\s\S]*?)<\/ol>/.exec(html)![1].split('<li>').slice(1);
    expect(q).toHaveLength(4);
    expect(q[1]).toMatch(/no conv layer/);
    expect(q[2]).toMatch(/the first non-linearity/);
    expect(q[3]).toMatch(/neither pools nor uses a stride-2 conv/);
  });
});
