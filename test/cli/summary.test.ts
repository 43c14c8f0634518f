import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeCifarDir } from '../data/fixtures.js';
import { runCli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'cnnviz-summary-'));
function specFile(name: string, content: unknown): string {
  const p = join(dir, name);
  writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content));
  return p;
}
const input = { type: 'input', out_sx: 32, out_sy: 32, out_depth: 3 };
const softmax = { type: 'softmax', num_classes: 10 };

describe('cnnviz summary', () => {
  it('prints the convnetjs-cifar10 preset with shapes and parameter counts', async () => {
    const r = await runCli(['summary']);
    expect(r.code).toBe(0);
    // conv 5x5x3x16 + 16 = 1216; conv 5x5x16x20 + 20 = 8020; 5x5x20x20 + 20 = 10020; fc 320x10 + 10 = 3210
    expect(r.stdout).toMatch(/conv 5x5, 16 filters.*16 x 32 x 32.*1,216/);
    expect(r.stdout).toMatch(/max pool 2x2, stride 2\s+20 x 4 x 4/);
    expect(r.stdout).toMatch(/fully connected, 10 units\s+10 x 1 x 1\s+10\s+3,210/);
    expect(r.stdout).toContain('12 layers, 22,466 trainable parameters');
  });

  it('gives JSON with --json', async () => {
    const r = await runCli(['summary', '--json']);
    const j = JSON.parse(r.stdout) as { totalParams: number; rows: { outShape: number[] }[] };
    expect(j.totalParams).toBe(22466);
    expect(j.rows.map((row) => row.outShape.join('x'))).toEqual([
      '3x32x32', '16x32x32', '16x32x32', '16x16x16', '20x16x16', '20x16x16', '20x8x8', '20x8x8', '20x8x8', '20x4x4', '10x1x1', '10x1x1',
    ]);
  });

  const bad: [string, unknown, RegExp][] = [
    ['unknown type', [input, { type: 'convolution', sx: 3, filters: 4 }, softmax], /layer 1: field "type" is "convolution", not one of/],
    ['missing field', [input, { type: 'conv', filters: 4 }, softmax], /layer 1 \(conv\): field "sx" is missing/],
    ['wrong-typed field', [input, { type: 'conv', sx: '5', filters: 4 }, softmax], /layer 1 \(conv\): field "sx" must be a number, got "5"/],
    ['fractional count', [input, { type: 'fc', num_neurons: 2.5 }, softmax], /layer 1 \(fc\): field "num_neurons" must be a whole number >= 1, got 2.5/],
    ['output smaller than 1x1', [input, { type: 'pool', sx: 2, stride: 2 }, { type: 'pool', sx: 2, stride: 2 }, { type: 'pool', sx: 2, stride: 2 }, { type: 'pool', sx: 2, stride: 2 }, { type: 'pool', sx: 2, stride: 2 }, { type: 'pool', sx: 2, stride: 2 }, softmax], /layer 6 \(pool\): field "sx".*output would be 0x0, smaller than 1x1/],
    ['no input first', [{ type: 'conv', sx: 3, filters: 2 }, softmax], /layer 0 \(conv\): field "type" must be "input" for the first layer/],
    ['bad activation', [input, { type: 'fc', num_neurons: 4, activation: 'swish' }, softmax], /layer 1 \(fc\): field "activation" is "swish"/],
    ['no loss layer', [input, { type: 'fc', num_neurons: 4 }], /layer 1 \(fc\): the last layer must be a loss layer/],
    ['not a list', { hello: 1 }, /must be a JSON array of layer definitions/],
    ['invalid JSON', '[{"type": "input",', /not valid JSON/],
  ];
  for (const [name, spec, message] of bad) {
    it(`fails with one clear line and exit code 2: ${name}`, async () => {
      const file = specFile(`${name.replace(/\W+/g, '-')}.json`, spec);
      const r = await runCli(['summary', '--model', file]);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(message);
      expect(lines[0]).toContain(file);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    });
  }

  it('names a missing model file and the presets', async () => {
    const r = await runCli(['summary', '--model', join(dir, 'nope.json')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/nope.json: no such file.*convnetjs-cifar10/);
  });

  it('fails when the network input is not what CIFAR-10 gives (train): another channel count (another size is resized)', async () => {
    const file = specFile('small-input.json', [{ type: 'input', out_sx: 24, out_sy: 24, out_depth: 1 }, softmax]);
    const data = writeCifarDir(join(dir, 'cifar'));
    const r = await runCli(['train', '--model', file, '--data', data, '--out', join(dir, 'out-small')]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/layer 0 \(input\).*24x24x1, but the CIFAR-10 images of .*cifar are 32x32x3/);
  });
});
