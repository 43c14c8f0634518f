import { describe, expect, it } from 'vitest';
import { channelHealth, dataBlock, float16BlockScale, float16Bits, float16Value, layerDataScript, momentSummary, MAX_BLOCK_VALUES, readLayerDataScript, type ExplorerDataHeader } from '../../src/viz/explorer/data.js';
import { graphOutline, momentLabel, sortMoments } from '../../src/viz/explorer/page.js';
import { fakeCifarProbe } from './fake-probe.js';

function decode(text: string): { header: ExplorerDataHeader; values: Float32Array } {
  const m = /^cnnvizExplorerData\((\{.*\}),"([A-Za-z0-9+/=]*)"\);\n$/s.exec(text);
  expect(m).not.toBeNull();
  const bytes = Buffer.from(m![2], 'base64');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { header: JSON.parse(m![1]) as ExplorerDataHeader, values: Float32Array.from({ length: bytes.byteLength / 4 }, (_, i) => view.getFloat32(4 * i, true)) };
}

describe('explorer data files', () => {
  const probe = fakeCifarProbe({ probeCount: 3 });
  it('hold each quantity of a layer as little-endian float32 at its offset, in NCHW order', () => {
    const conv = probe.layers[1];
    const { header, values } = decode(layerDataScript('epoch-002', conv, 'full'));
    expect(header).toMatchObject({ format: 2, dtype: 'float32', moment: 'epoch-002', layer: 1 });
    expect(header.blocks.map((b) => b.quantity)).toEqual(['activations', 'activation-gradients', 'weights', 'weight-gradients']);
    const [C, H, W] = conv.outShape;
    const acts = header.blocks[0];
    expect(acts.shape).toEqual([3, C, H, W]);
    // (image 2, channel 5, y 7, x 3)
    expect(values[acts.offset + ((2 * C + 5) * H + 7) * W + 3]).toBe(conv.activations[((2 * C + 5) * H + 7) * W + 3]);
    const wg = header.blocks[3];
    expect(wg.shape).toEqual(conv.weights!.shape);
    expect(Array.from(values.subarray(wg.offset, wg.offset + conv.weightGrads!.length))).toEqual(Array.from(conv.weightGrads!));
    expect(values.length).toBe(2 * conv.activations.length + 2 * conv.weights!.data.length);
  });

  it('leave out a block that is too large, saying why', () => {
    const big = { ...probe.layers[1], weights: { data: new Float32Array(MAX_BLOCK_VALUES + 1), shape: [MAX_BLOCK_VALUES + 1, 1, 1, 1] as [number, number, number, number] }, weightGrads: new Float32Array(MAX_BLOCK_VALUES + 1) };
    const { header } = decode(layerDataScript('epoch-001', big, 'full'));
    expect(header.blocks.map((b) => b.quantity)).toEqual(['activations', 'activation-gradients']);
    expect(header.omitted?.weights).toMatch(/more than the 8,000,000/);
  });

  it('summarise each channel: mean, std, zeros over images and positions, filter norms', () => {
    const relu = probe.layers[2];
    const h = channelHealth(relu);
    const [C, H, W] = relu.outShape;
    const k = 4;
    const vals: number[] = [];
    for (let p = 0; p < 3; p++) for (let i = 0; i < H * W; i++) vals.push(relu.activations[(p * C + k) * H * W + i]);
    const mean = vals.reduce((a, b) => a + b, 0) / vals.length;
    expect(h.mean[k]).toBeCloseTo(mean, 4);
    expect(h.zero[k]).toBeCloseTo(vals.filter((v) => v === 0).length / vals.length, 4);
    const conv = probe.layers[1];
    const per = conv.weights!.data.length / conv.weights!.shape[0];
    const norm = Math.hypot(...conv.weights!.data.subarray(2 * per, 3 * per));
    expect(channelHealth(conv).weightNorm![2]).toBeCloseTo(norm, 4);
    const s = momentSummary('epoch-001', 1, undefined, probe);
    expect(s.layers[1]).toMatchObject({ layer: 1, inputs: conv.inputs, outShape: conv.outShape });
    expect(s.layers[2].scales.activations?.kind).toBe('sequential');
  });
});

describe('the layer map and the slider', () => {
  it('indents a residual block, marks its skip path and its split', () => {
    // 0 input, 1 stem, 2 conv, 3 bn, 4 projection (skip), 5 add(3, 4), 6 relu, 7 fc
    const inputs = [[], [0], [1], [2], [1], [3, 4], [5], [6]];
    const o = graphOutline(inputs);
    expect(o.depth).toEqual([0, 0, 1, 1, 1, 0, 0, 0]);
    expect(o.skip).toEqual([false, false, false, false, true, false, false, false]);
    expect(o.splitsTo[1]).toEqual([2, 4]);
    // Identity skip: nothing on the skip path, the block's layers indented.
    const id = graphOutline([[], [0], [1], [2], [1, 3]]);
    expect(id.depth).toEqual([0, 0, 1, 1, 0]);
    expect(id.skip.some(Boolean)).toBe(false);
  });

  it('orders steps and epochs as training did; step 0 is "before training"', () => {
    const list = sortMoments([{ epoch: 2 }, { epoch: 1, step: 5 }, { epoch: 0, step: 0 }, { epoch: 1 }, { epoch: 0, step: 2 }]);
    expect(list.map(momentLabel)).toEqual(['before training', 'step 2 (epoch 1)', 'epoch 1', 'step 5 (epoch 2)', 'epoch 2']);
  });
});

describe('float16 explorer data (--explorer-data half)', () => {
  it('rounds to the nearest float16 (ties to even), keeps subnormals, infinities and NaN', () => {
    for (const [x, bits] of [[1, 0x3c00], [-2, 0xc000], [65504, 0x7bff], [65520, 0x7c00], [2 ** -24, 0x0001], [2 ** -14, 0x0400], [0.1, 0x2e66], [1 + 2 ** -11, 0x3c00], [1 + 3 * 2 ** -11, 0x3c02], [Infinity, 0x7c00], [-0, 0x8000]] as [number, number][]) {
      expect(float16Bits(x), String(x)).toBe(bits);
    }
    expect(Number.isNaN(float16Value(float16Bits(NaN)))).toBe(true);
    // Every float16 pattern comes back as itself.
    const wrong: number[] = [];
    for (let h = 0; h < 0x7c00; h++) if (float16Bits(float16Value(h)) !== h || float16Bits(-float16Value(h)) !== (h | 0x8000)) wrong.push(h);
    expect(wrong).toEqual([]);
    // Any other value: no float16 is nearer than the one chosen.
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 2000; i++) {
      const x = Math.fround((rnd() - 0.5) * 2 ** (rnd() * 40 - 26));
      const h = float16Bits(x);
      const err = Math.abs(float16Value(h) - x);
      for (const n of [h - 1, h + 1]) if ((n & 0x7fff) < 0x7c00 && (n & 0x8000) === (h & 0x8000) && Math.abs(float16Value(n) - x) < err) wrong.push(x);
    }
    expect(wrong).toEqual([]);
  });

  it('store each block divided by a power of two: half the bytes, within 2^-11, tiny gradients kept', () => {
    const probe = fakeCifarProbe({ probeCount: 3 });
    // Gradients of 1e-9 are far below float16's smallest number (6e-8): the block's scale keeps them.
    const conv = { ...probe.layers[1], activationGrads: probe.layers[1].activationGrads.map((v) => v * 1e-9) };
    const full = layerDataScript('epoch-001', conv, 'full');
    const text = layerDataScript('epoch-001', conv, 'half');
    expect(text.length).toBeLessThan(0.55 * full.length);
    const file = readLayerDataScript(text);
    expect(file.header).toMatchObject({ format: 2, dtype: 'float16' });
    for (const [q, data] of [['activations', conv.activations], ['activation-gradients', conv.activationGrads], ['weights', conv.weights!.data]] as const) {
      const b = dataBlock(file, q)!;
      const scale = file.header.blocks.find((x) => x.quantity === q)!.scale!;
      expect(scale).toBe(float16BlockScale(data));
      expect(Number.isInteger(Math.log2(scale))).toBe(true);
      let max = 0;
      for (const v of data) max = Math.max(max, Math.abs(v));
      let nonZero = 0;
      const bad: number[] = [];
      data.forEach((v, i) => {
        if (b.data[i] !== Math.fround(float16Value(float16Bits(v / scale)) * scale)) bad.push(i);
        if (Math.abs(v) >= max * 2 ** -29 && Math.abs(b.data[i] - v) > Math.abs(v) * 2 ** -11) bad.push(i);
        if (b.data[i] !== 0) nonZero++;
      });
      expect(bad).toEqual([]);
      // No value vanishes (tiny gradients included).
      expect(nonZero).toBe(data.filter((v) => v !== 0).length);
      expect(nonZero).toBeGreaterThan(0);
    }
    // The float32 reader gives the very values of a full file.
    const f32 = readLayerDataScript(full);
    expect(Array.from(dataBlock(f32, 'weights')!.data)).toEqual(Array.from(conv.weights!.data));
  });
});
