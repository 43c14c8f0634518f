import { describe, expect, it } from 'vitest';
import { validateSavedConfig, validateSavedProgress } from '../../src/train/validate-config.js';
import { OPTIMIZER_METHODS } from '../../src/nn/optimizers.js';
import { VIZ_SCALE_MODES } from '../../src/train/config.js';
import { EXPLORER_DATA_MODES } from '../../src/viz/explorer/data.js';
import { smallConfig } from '../helpers/train.js';

const good = (): Record<string, unknown> => JSON.parse(JSON.stringify(smallConfig('/data'))) as Record<string, unknown>;

describe('saved settings of a checkpoint', () => {
  it('accepts what a run writes', () => {
    expect(() => validateSavedConfig(good(), 'ck.json')).not.toThrow();
    // Every value the options accept today (the rules come from the same constants).
    for (const vizScale of VIZ_SCALE_MODES) expect(() => validateSavedConfig({ ...good(), vizScale }, 'ck.json')).not.toThrow();
    for (const explorerData of EXPLORER_DATA_MODES) expect(() => validateSavedConfig({ ...good(), explorerData }, 'ck.json')).not.toThrow();
    for (const method of OPTIMIZER_METHODS) expect(() => validateSavedConfig({ ...good(), optimizer: { ...(good().optimizer as object), method } }, 'ck.json')).not.toThrow();
    expect(() => validateSavedProgress({ epoch: 1, config: good(), metrics: [{ epoch: 1 }], extra: { epochProgress: { batch: 2, lossSum: 3, decaySum: 0, correct: 1, seen: 4, trainSeconds: 0.5 } } }, 7, 'ck.json')).not.toThrow();
  });

  it.each([
    ['microBatch', 0, /training\.config\.microBatch: expected a whole number >= 1, got 0/],
    ['batchSize', 'abc', /training\.config\.batchSize: expected a whole number >= 1, got "abc"/],
    ['seed', 4294967296, /training\.config\.seed: expected a whole number from 0 to 4294967295/],
    ['viz', 'some', /training\.config\.viz: expected one of all, none/],
    ['probeCount', 1000, /probeCount: expected a whole number >= 1 and <= 64/],
    ['explorerData', 'quarter', /training\.config\.explorerData: expected one of full, half, off/],
  ])('refuses %s = %j with the CLI rule, naming the file and field', (field, value, message) => {
    const c = good();
    c[field] = value;
    expect(() => validateSavedConfig(c, 'ck.json')).toThrow(message);
    expect(() => validateSavedConfig(c, 'ck.json')).toThrow(/^ck\.json: /);
  });

  it('refuses bad optimizer settings', () => {
    const c = good();
    (c.optimizer as Record<string, unknown>).learningRate = -1;
    expect(() => validateSavedConfig(c, 'ck.json')).toThrow(/optimizer\.learningRate: expected a number >= 0/);
  });

  it('refuses degenerate optimizer settings the method uses (beta 1, ro 1, eps 0), naming the field', () => {
    const c = good();
    Object.assign(c.optimizer as Record<string, unknown>, { method: 'adam', beta2: 1 });
    expect(() => validateSavedConfig(c, 'ck.json')).toThrow(/^ck\.json: training\.config\.optimizer\.beta2: is 1, but must be below 1 for adam/);
    Object.assign(c.optimizer as Record<string, unknown>, { method: 'windowgrad', beta2: 0.999, eps: 0 });
    expect(() => validateSavedConfig(c, 'ck.json')).toThrow(/training\.config\.optimizer\.eps: is 0, but must be above 0 for windowgrad/);
    // sgd does not use them: an old sgd run with --eps 0 still resumes.
    Object.assign(c.optimizer as Record<string, unknown>, { method: 'sgd' });
    expect(() => validateSavedConfig(c, 'ck.json')).not.toThrow();
  });

  it('refuses negative progress and a metrics field that is not a list', () => {
    expect(() => validateSavedProgress({ epoch: -1, metrics: [] }, 0, 'ck.json')).toThrow(/training\.epoch: expected a whole number >= 0, got -1/);
    expect(() => validateSavedProgress({ epoch: 1, metrics: 'x' }, 0, 'ck.json')).toThrow(/training\.metrics: expected a list/);
    expect(() => validateSavedProgress({ epoch: 0, metrics: [] }, -3, 'ck.json')).toThrow(/optimizer\.step/);
    expect(() => validateSavedProgress({ epoch: 0, metrics: [], extra: { epochProgress: { batch: -2, lossSum: 0, decaySum: 0, correct: 0, seen: 0, trainSeconds: 0 } } }, 0, 'ck.json')).toThrow(/epochProgress\.batch/);
  });

  it("accepts a mid-epoch checkpoint's health sums and refuses malformed ones, naming the field", () => {
    const progress = { batch: 2, lossSum: 3, decaySum: 0, correct: 1, seen: 4, trainSeconds: 0.5 };
    const health = { epoch: [[1, 0.5, 0.002, 2]], segment: [[1, 0.25, 0.001, 1]], trace: [{ x: 0.5, gradNorm: { 1: 0.25 }, updateRatio: { 1: 0.001 } }] };
    expect(() => validateSavedProgress({ epoch: 0, metrics: [], extra: { epochProgress: progress, health } }, 2, 'ck.json')).not.toThrow();
    for (const [bad, message] of [
      [{ ...health, epoch: [[0, 0.5, 0.002, 2]] }, /training\.extra\.health: field "epoch": expected \[layer, gradient sum, ratio sum, steps\] rows/],
      [{ ...health, segment: [[1, 'x', 0, 1]] }, /field "segment"/],
      [{ ...health, trace: [{ x: 'late' }] }, /training\.extra\.health: field "trace": expected points/],
      ['sums', /training\.extra\.health: expected an object/],
    ] as const) {
      expect(() => validateSavedProgress({ epoch: 0, metrics: [], extra: { epochProgress: progress, health: bad } }, 2, 'ck.json')).toThrow(message);
    }
  });
});
