import { describe, expect, it } from 'vitest';
import { channelHealth, layerDataScript, momentSummary, MAX_BLOCK_VALUES, type ExplorerDataHeader } from '../../src/viz/explorer/data.js';
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
    const { header, values } = decode(layerDataScript('epoch-002', conv));
    expect(header).toMatchObject({ format: 1, moment: 'epoch-002', layer: 1 });
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
    const { header } = decode(layerDataScript('epoch-001', big));
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
