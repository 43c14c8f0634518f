import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { readImageAsInput } from '../../src/cli/commands/predict.js';
import { evalContext, Network } from '../../src/nn/network.js';
import { loadModel, parseSnapshot, saveSnapshot } from '../../src/nn/snapshot.js';
import { defaultOptimizerOptions } from '../../src/nn/optimizers.js';
import { presetSpec } from '../../src/nn/spec.js';
import { MAX_CLASS_NAME_CHARS } from '../../src/util/class-names.js';
import { tempDir } from '../data/fixtures.js';
import { runCli } from '../helpers/cli.js';

const bits = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe('initialisation and snapshots', () => {
  it('initialises ConvNetJS-style from a seed: same seed same bits, variance 1/fan_in, biases from bias_pref', () => {
    const spec = presetSpec('convnetjs-cifar10');
    const a = new Network(spec);
    const b = new Network(spec);
    const c = new Network(spec);
    a.initialize(42);
    b.initialize(42);
    c.initialize(43);
    expect(bits(a.params).equals(bits(b.params))).toBe(true);
    expect(bits(a.params).equals(bits(c.params))).toBe(false);
    const w = a.param(4, 'weights')!; // conv 5x5x16 -> 20: fan_in 400
    const variance = w.data.reduce((s, v) => s + v * v, 0) / w.data.length;
    expect(variance).toBeGreaterThan(0.8 / 400);
    expect(variance).toBeLessThan(1.2 / 400);
    expect(Array.from(a.param(1, 'biases')!.data).every((v) => Math.abs(v - 0.1) < 1e-7)).toBe(true); // relu -> 0.1
    expect(Array.from(a.param(10, 'biases')!.data).every((v) => v === 0)).toBe(true); // softmax's fc -> 0
  });

  it('saves and loads a network (JSON + binary tensors), weights bit for bit, with class names and preprocessing', async () => {
    const spec = presetSpec('convnetjs-cifar10');
    const net = new Network(spec);
    net.initialize(5);
    const file = join(tempDir('cnnviz-snap-'), 'snap.json');
    const pre = { kind: 'standardize' as const, mean: [120, 121, 122] as [number, number, number], std: [60, 61, 62] as [number, number, number] };
    await saveSnapshot(file, { spec, params: net.params, classNames: ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'], preprocessing: pre });
    const loaded = loadModel(file);
    expect(loaded.kind).toBe('snapshot');
    expect(bits(loaded.snapshot!.params).equals(bits(net.params))).toBe(true);
    expect(loaded.snapshot!.classNames![9]).toBe('j');
    expect(loaded.snapshot!.preprocessing).toEqual(pre);
    expect(loaded.spec.shapes).toEqual(spec.shapes);
    // A damaged file says so.
    const json = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    (json.binary as { tensors: { length: number }[] }).tensors[0].length = 10;
    expect(() => parseSnapshot(json, file)).toThrow(/snap\.json: params holds 10 values, the network needs 22466/);
  });

  it('refuses a checkpoint whose optimizer state holds NaN or a negative sum of squares, or whose settings are degenerate, naming the field', async () => {
    const spec = presetSpec('convnetjs-cifar10');
    const net = new Network(spec);
    net.initialize(5);
    const P = net.params.length;
    const dir = tempDir('cnnviz-snap-');
    const options = { ...defaultOptimizerOptions('adam') };
    const save = async (name: string, gsum: Float32Array, xsum: Float32Array, o = options): Promise<string> => {
      const file = join(dir, name);
      await saveSnapshot(file, { spec, params: net.params, optimizer: { options: o, state: { method: o.method, step: 3, gsum, xsum } } });
      return file;
    };
    const zeros = () => new Float32Array(P);
    expect(loadModel(await save('ok.json', zeros(), zeros())).snapshot!.optimizer!.state.step).toBe(3);
    const nan = zeros();
    nan[17] = NaN;
    const nanFile = await save('nan.json', nan, zeros());
    expect(() => loadModel(nanFile)).toThrow(/nan\.json: optimizer\.gsum: 1 of 22,466 values are NaN or infinite \(the first at index 17: NaN\)/);
    const negative = zeros();
    negative[4] = -2;
    const negFile = await save('neg.json', zeros(), negative);
    expect(() => loadModel(negFile)).toThrow(/neg\.json: optimizer\.xsum: 1 of 22,466 values are negative/);
    const betaFile = await save('beta.json', zeros(), zeros(), { ...options, beta1: 1 });
    expect(() => loadModel(betaFile)).toThrow(/beta\.json: field "optimizer\.options\.beta1" is 1: must be below 1 for adam/);
  });

  it('caps long class names it reads from a snapshot', async () => {
    const spec = presetSpec('convnetjs-cifar10');
    const net = new Network(spec);
    const file = join(tempDir('cnnviz-snap-'), 'names.json');
    const names = ['x'.repeat(50_000), ...'bcdefghij'];
    await saveSnapshot(file, { spec, params: net.params, classNames: names });
    const read = loadModel(file).snapshot!.classNames!;
    expect(read[0]).toBe(`${'x'.repeat(MAX_CLASS_NAME_CHARS - 1)}…`);
    expect(read.slice(1)).toEqual(names.slice(1));
  });

  it('predict reads an image, preprocesses it as trained and prints the probabilities of the network', async () => {
    const dir = tempDir('cnnviz-predict-');
    const spec = presetSpec('convnetjs-cifar10');
    const net = new Network(spec);
    net.initialize(9);
    const snap = join(dir, 'snap.json');
    const names = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
    await saveSnapshot(snap, { spec, params: net.params, classNames: names });
    // A 64x48 image: predict must resize it to 32x32.
    const raw = Buffer.alloc(64 * 48 * 3);
    for (let i = 0; i < raw.length; i++) raw[i] = (i * 7) % 256;
    const image = join(dir, 'img.png');
    await sharp(raw, { raw: { width: 64, height: 48, channels: 3 } }).png().toFile(image);

    const r = await runCli(['predict', '--model', snap, '--image', image, '--json']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { probabilities: number[]; label: number; className: string };
    const { input } = await readImageAsInput(image, [3, 32, 32], { kind: 'scale' });
    const expected = Array.from(net.forward(input, 1, evalContext(net)).subarray(0, 10));
    out.probabilities.forEach((p, i) => expect(p).toBeCloseTo(expected[i], 6));
    expect(out.probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    expect(out.label).toBe(expected.indexOf(Math.max(...expected)));
    expect(out.className).toBe(names[out.label]);
    // pixel/255 - 0.5 of a resized image: all inputs within [-0.5, 0.5].
    expect(Math.max(...input)).toBeLessThanOrEqual(0.5);
    expect(Math.min(...input)).toBeGreaterThanOrEqual(-0.5);

    const text = await runCli(['predict', '--model', snap, '--image', image]);
    const lines = text.stdout.trim().split('\n');
    expect(lines).toHaveLength(10);
    expect(lines[0].startsWith(names[out.label])).toBe(true);

    const bad = await runCli(['predict', '--model', snap, '--image', join(dir, 'missing.png')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--image .*missing\.png: no such file/);
  });
});
