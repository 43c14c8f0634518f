import { describe, expect, it } from 'vitest';
import { learningRateAt, parseStepEpochs, type LrSchedule } from '../../src/train/schedule.js';

const len = { epochs: 10, stepsPerEpoch: 100 };
const at = (s: Partial<LrSchedule> & Pick<LrSchedule, 'kind'>, step: number) => learningRateAt({ stepFactor: 0.1, ...s }, 0.5, step, len);

describe('learning-rate schedules', () => {
  it('constant, with a linear warm-up', () => {
    expect(at({ kind: 'constant' }, 0)).toBe(0.5);
    expect(at({ kind: 'constant' }, 999)).toBe(0.5);
    expect(at({ kind: 'constant', warmupEpochs: 2 }, 0)).toBeCloseTo(0.5 / 200, 12);
    expect(at({ kind: 'constant', warmupEpochs: 2 }, 99)).toBeCloseTo(0.25, 12);
    expect(at({ kind: 'constant', warmupEpochs: 2 }, 200)).toBe(0.5);
  });

  it('step: default milestones at 50% and 75% of the run, or the given epochs', () => {
    expect(at({ kind: 'step' }, 499)).toBe(0.5);
    expect(at({ kind: 'step' }, 500)).toBeCloseTo(0.05, 12);
    expect(at({ kind: 'step' }, 750)).toBeCloseTo(0.005, 12);
    expect(at({ kind: 'step', stepEpochs: [3], stepFactor: 0.5 }, 299)).toBe(0.5);
    expect(at({ kind: 'step', stepEpochs: [3], stepFactor: 0.5 }, 300)).toBe(0.25);
  });

  it('cosine: full rate at the start (after warm-up), half way at the middle, near 0 at the end', () => {
    expect(at({ kind: 'cosine' }, 0)).toBe(0.5);
    expect(at({ kind: 'cosine' }, 500)).toBeCloseTo(0.25, 12);
    expect(at({ kind: 'cosine' }, 999)).toBeLessThan(1e-5);
    expect(at({ kind: 'cosine', warmupEpochs: 1 }, 100)).toBe(0.5);
    expect(at({ kind: 'cosine', warmupEpochs: 1 }, 550)).toBeCloseTo(0.25, 12);
  });

  it('onecycle: lr/25 up to lr over 30% of the run, then down to lr/25/1e4', () => {
    expect(at({ kind: 'onecycle' }, 0)).toBeCloseTo(0.02, 12);
    expect(at({ kind: 'onecycle' }, 300)).toBeCloseTo(0.5, 12);
    expect(at({ kind: 'onecycle' }, 999)).toBeCloseTo(0.02 / 1e4, 12);
    expect(at({ kind: 'onecycle', warmupEpochs: 1 }, 100)).toBeCloseTo(0.5, 12);
    const rising = [50, 100, 200].map((s) => at({ kind: 'onecycle' }, s));
    expect(rising[0] < rising[1] && rising[1] < rising[2]).toBe(true);
  });

  it('parses milestone lists and rejects bad ones', () => {
    expect(parseStepEpochs('30, 45')).toEqual([30, 45]);
    expect(() => parseStepEpochs('45,30')).toThrow(/increasing/);
    expect(() => parseStepEpochs('a')).toThrow(/--lr-steps/);
  });
});
