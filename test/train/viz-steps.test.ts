import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readExplorerIndex } from '../helpers/explorer.js';
import { loadCifar10 } from '../../src/data/cifar10.js';
import { makePreprocessing } from '../../src/data/preprocess.js';
import { Network } from '../../src/nn/network.js';
import { parseSpec } from '../../src/nn/spec.js';
import { train } from '../../src/train/trainer.js';
import { makeVisualizer } from '../../src/train/visualizer.js';
import { describeSkippedSteps, LOG_BUDGET, VizStepPlanner, logSteps, parseVizSteps } from '../../src/train/viz-steps.js';
import { tempDir } from '../data/fixtures.js';
import { SMALL_SPEC, silentReporter, smallCifar, smallConfig } from '../helpers/train.js';

describe('--viz-steps', () => {
  it('parses lists, log and none, and refuses anything else', () => {
    expect(parseVizSteps('0,50,200,1000')).toEqual([0, 50, 200, 1000]);
    expect(parseVizSteps(' 200, 0,200 ')).toEqual([0, 200]);
    expect(parseVizSteps('LOG')).toBe('log');
    expect(parseVizSteps('none')).toBe('none');
    for (const bad of ['', '1,,2', '-1', '1.5', 'every']) expect(() => parseVizSteps(bad), bad).toThrow(/expected "log", "none" or a list of steps/);
    expect(parseVizSteps(Array.from({ length: 1000 }, (_, i) => i * 7).join(','))).toHaveLength(1000);
    expect(() => parseVizSteps(Array.from({ length: 1001 }, (_, i) => i).join(','))).toThrow(/^1001 steps listed; at most 1000/);
  });

  it('log: 0, 10, 30, 100, 300, 1000, ... below the first epoch', () => {
    expect(logSteps(1563)).toEqual([0, 10, 30, 100, 300, 1000]);
    expect(logSteps(100)).toEqual([0, 10, 30]);
    expect(logSteps(5)).toEqual([0]);
  });

  it('log keeps drawing within the budget of the projected first epoch; a list draws everything', () => {
    // 1000 batches of 0.02 s: a 20 s epoch, so 1.6 s of drawing at an 8% budget.
    const plan = new VizStepPlanner('log', 1000);
    const drawn: number[] = [];
    for (let step = 0; step < 1000; step++) {
      if (plan.due(step, step * 0.02, step)) {
        drawn.push(step);
        plan.drew(0.6);
      }
    }
    // 0 (always), 10 (0.6 + 0.6 <= 1.6); 30 would pass the budget (1.2 + 0.6 > 1.6).
    expect(drawn).toEqual([0, 10]);
    expect(0.6 * drawn.length).toBeLessThanOrEqual(LOG_BUDGET * 20 + 0.6);
    expect(new VizStepPlanner('none', 1000).any).toBe(false);
    // What was not drawn is recorded, with the reason.
    expect(plan.skipped.map((s) => s.step)).toEqual([30, 100, 300]);
    expect(plan.skipped[0].reason).toBe("8% of the first epoch's projected training time is 1.6 s; the drawings so far took 1.2 s, the longest 0.6 s");
    expect(plan.drawn).toEqual([0, 10]);
  });

  it('a list is bounded by the same budget, over the training time up to its last step; steps past the run are reported', () => {
    // Steps 0, 100, ..., 900 and 5000 in a run of 2 epochs of 1000 steps of 0.02 s: up to step 900 is 18 s, so 1.44 s of drawing.
    const list = [0, 100, 200, 300, 400, 500, 600, 700, 800, 900, 5000];
    const plan = new VizStepPlanner(list, 1000, 2000);
    expect(plan.skipped).toEqual([{ step: 5000, reason: "past the run's last step (2000)" }]);
    expect(plan.takeSkipped().map((s) => s.step)).toEqual([5000]);
    const drawn: number[] = [];
    for (let step = 0; step < 2000; step++) {
      if (plan.due(step, step * 0.02, step)) {
        drawn.push(step);
        plan.drew(0.6);
      }
    }
    expect(drawn).toEqual([0, 100]);
    const fresh = plan.takeSkipped();
    expect(fresh.map((s) => s.step)).toEqual([200, 300, 400, 500, 600, 700, 800, 900]);
    expect(fresh[0].reason).toMatch(/^8% of the projected training time up to step 900 is 1\.4 s; the drawings so far took 1\.2 s/);
    expect(plan.takeSkipped()).toEqual([]);
    expect(describeSkippedSteps(plan.skipped)).toMatch(/^steps 200, 300, 400, 500, 600, 700, 800, 900 not drawn: over the time budget \(8% of .*\); step 5000 not drawn: past the run's last step \(2000\)$/);
    // The first wanted step is drawn whatever it costs (there is nothing to project from yet).
    const first = new VizStepPlanner([7, 8], 10);
    expect(first.due(7, 0, 0)).toBe(true);
    first.drew(100);
    expect(first.due(8, 0.01, 8)).toBe(false);
  });

  it('draws step-NNNNNN folders in the epoch layout, lists them in the report and orders animation frames by step', async () => {
    const data = smallCifar();
    const out = tempDir('cnnviz-steps-');
    const config = smallConfig(data, { epochs: 2, batchSize: 16, viz: 'all', vizSteps: [0, 2, 5] });
    const spec = parseSpec(SMALL_SPEC, 'small.json');
    const cifar = await loadCifar10(data, { shared: true });
    const net = new Network(spec);
    net.initialize(config.seed);
    const preprocessing = makePreprocessing(false, cifar.train);
    const outcome = await train({
      config, settings: { out, workers: 1, json: false, quiet: true }, spec, data: cifar, preprocessing, initialParams: net.params,
      reporter: silentReporter, visualizer: makeVisualizer(out, config, spec, preprocessing), interrupted: () => false,
      // No budget: this test is about where the pictures go (training 60 images takes less than one drawing).
      vizStepBudget: Infinity,
    });
    expect(outcome.status).toBe('completed');
    // 60 images in batches of 16: 4 batches per epoch, so step 5 is the first batch of epoch 2.
    const dirs = readdirSync(out).filter((d) => /^(epoch|step)-/.test(d)).sort();
    expect(dirs).toEqual(['epoch-001', 'epoch-002', 'step-000000', 'step-000002', 'step-000005']);
    const index = JSON.parse(readFileSync(join(out, 'step-000005', 'epoch.json'), 'utf8')) as { step: number; epoch: number; dir: string; layers: { files: Record<string, string> }[] };
    expect(index).toMatchObject({ step: 5, epoch: 1, dir: 'step-000005' });
    for (const f of Object.values(index.layers[1].files)) expect(existsSync(join(out, f)), f).toBe(true);
    const html = readFileSync(join(out, 'index.html'), 'utf8');
    // The explorer's slider: training order, step 0 is "before training".
    const moments = readExplorerIndex(out).moments.map((m) => `${m.dir}=${m.label}`);
    expect(moments).toEqual(['step-000000=before training', 'step-000002=step 2 (epoch 1)', 'epoch-001=epoch 1', 'step-000005=step 5 (epoch 2)', 'epoch-002=epoch 2']);
    // Epochs and steps share one page: every element id stays unique.
    const ids = [...html.matchAll(/\bid="([^"]+)"/g)].map((m) => m[1]);
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
    const frames = readdirSync(join(out, 'animations', 'frames', '01-conv-weights')).sort();
    expect(frames).toEqual(['epoch-000-step-000000.webp', 'epoch-000-step-000002.webp', 'epoch-001-step-000005.webp', 'epoch-001.webp', 'epoch-002.webp']);
    // The step drawing time is counted in the epoch's vizSeconds.
    expect(outcome.records[0].vizSeconds).toBeGreaterThan(0);
  });
});
