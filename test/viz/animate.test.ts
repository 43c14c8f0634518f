import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { parseWebpFrame, sampleFrames, writeAnimation } from '../../src/viz/animate.js';
import { writeEpochViz } from '../../src/viz/epoch.js';
import { createVizScaleState, robustScale } from '../../src/viz/scale.js';
import { CIFAR_CLASSES, fakeCifarProbe } from './fake-probe.js';

describe('animations across epochs', () => {
  it('have one frame per epoch so far, on the animation\u2019s growing scale', async () => {
    const out = mkdtempSync(join(tmpdir(), 'cnnviz-viz-anim-'));
    const state = createVizScaleState();
    for (const e of [1, 2, 3]) {
      const s = await writeEpochViz(out, e, fakeCifarProbe({ seed: e, weightGain: 1 + 0.5 * e }), { scale: 'layer', scaleState: state, classNames: CIFAR_CLASSES });
      expect(s.animations).toContain('animations/01-conv-weights.webp');
    }
    const files = readdirSync(join(out, 'animations')).filter((f) => f.endsWith('.webp')).sort();
    // Every layer's activations, and the first conv layer's weights.
    expect(files).toHaveLength(13);
    expect(files).toContain('01-conv-weights.webp');
    expect(files).toContain('00-input-activations.webp');
    for (const f of files) {
      const meta = await sharp(join(out, 'animations', f), { animated: true }).metadata();
      expect(meta.pages, f).toBe(3);
      expect(meta.loop).toBe(0);
      expect(meta.delay).toHaveLength(3);
    }
    // Frames decode; frame 3 of the weights animation is drawn at the scale fixed at epoch 1.
    const last = await sharp(join(out, 'animations/01-conv-weights.webp'), { page: 2 }).raw().toBuffer({ resolveWithObject: true });
    expect(last.info.width).toBeGreaterThan(100);
    expect(state.entries['01-conv/weights'].epoch).toBe(1);
    // The frames' own scale grows with the weights (gain 1.5, 2, 2.5): raised at epoch 3, to its 99.5th percentile.
    const w3 = fakeCifarProbe({ seed: 3, weightGain: 2.5 }).layers[1].weights!.data;
    expect(state.entries['animation:01-conv/weights']).toEqual({ scale: robustScale('diverging', w3), epoch: 3 });

    // GIF on request (re-encoded by sharp).
    const gif = await writeAnimation(out, '01-conv-weights', { format: 'gif', maxFrames: 2 });
    expect(gif).toBe('animations/01-conv-weights.gif');
    const gm = await sharp(join(out, 'animations/01-conv-weights.gif'), { animated: true }).metadata();
    expect(gm.pages).toBe(2);
  });

  it('redraw the earlier frames when the scale grows, so every frame is on the final scale', async () => {
    const raw = (f: string, page = 0) => sharp(f, { page }).removeAlpha().raw().toBuffer();
    const probes = [fakeCifarProbe({ seed: 1, weightGain: 1 }), fakeCifarProbe({ seed: 2, weightGain: 3 })];
    const out = mkdtempSync(join(tmpdir(), 'cnnviz-viz-anim-'));
    const state = createVizScaleState();
    for (const e of [1, 2]) await writeEpochViz(out, e, probes[e - 1], { scale: 'layer', scaleState: state, classNames: CIFAR_CLASSES, explorerData: 'full' });
    // The weights tripled: the scale was raised at epoch 2.
    expect(state.entries['animation:01-conv/weights'].epoch).toBe(2);
    // Epoch 1 drawn afresh on the final scales (no raise: they are larger than epoch 1's own).
    const ref = mkdtempSync(join(tmpdir(), 'cnnviz-viz-anim-ref-'));
    await writeEpochViz(ref, 1, probes[0], { scale: 'layer', scaleState: structuredClone(state), classNames: CIFAR_CLASSES, animations: 'frames', explorerData: 'off' });
    const names = readdirSync(join(out, 'animations/frames'));
    expect(names).toHaveLength(13);
    const raised = names.filter((n) => state.entries[`animation:${n.replace(/-(activations|weights)$/, '/$1')}`]?.epoch === 2);
    expect(raised).toContain('01-conv-weights');
    for (const n of names) {
      const frame = join('animations/frames', n, 'epoch-001.webp');
      expect((await raw(join(out, frame))).equals(await raw(join(ref, frame))), n).toBe(true);
    }
    // The animation's first page is that frame (padded to the last frame's size when its caption is shorter).
    const anim = join(out, 'animations/01-conv-weights.webp');
    const first = join(ref, 'animations/frames/01-conv-weights/epoch-001.webp');
    const [am, fm] = [await sharp(anim).metadata(), await sharp(first).metadata()];
    const box = { left: 0, top: 0, width: Math.min(am.width!, fm.width!), height: Math.min(am.pageHeight ?? am.height!, fm.height!) };
    const crop = (f: string) => sharp(f, { page: 0 }).removeAlpha().extract(box).raw().toBuffer();
    expect((await crop(anim)).equals(await crop(first))).toBe(true);
  }, 180_000);

  it('leave out earlier frames that cannot be redrawn (no explorer data kept)', async () => {
    const out = mkdtempSync(join(tmpdir(), 'cnnviz-viz-anim-'));
    const state = createVizScaleState();
    for (const e of [1, 2]) await writeEpochViz(out, e, fakeCifarProbe({ seed: e, weightGain: 2 * e - 1 }), { scale: 'layer', scaleState: state, classNames: CIFAR_CLASSES, explorerData: 'off' });
    expect(readdirSync(join(out, 'animations/frames/01-conv-weights'))).toEqual(['epoch-002.webp']);
    // The input images have no scale: nothing to redraw, both frames stay.
    expect(readdirSync(join(out, 'animations/frames/00-input-activations'))).toHaveLength(2);
  }, 180_000);

  it('parses single-image WebP frames', async () => {
    const buf = await sharp({ create: { width: 7, height: 5, channels: 3, background: '#336699' } }).webp({ lossless: true }).toBuffer();
    const f = parseWebpFrame(buf);
    expect([f.width, f.height]).toEqual([7, 5]);
    expect(() => parseWebpFrame(Buffer.from('not a webp file at all'))).toThrow();
  });
});

describe('sampleFrames', () => {
  it('keeps all frames when few, else evenly spaced with first and last', () => {
    expect(sampleFrames(3, 40)).toEqual([0, 1, 2]);
    expect(sampleFrames(0, 40)).toEqual([]);
    const s = sampleFrames(100, 5);
    expect(s).toEqual([0, 25, 50, 74, 99]);
  });
});
