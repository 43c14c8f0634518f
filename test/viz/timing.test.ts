/**
 * Times writeEpochViz for the CIFAR-10 net shapes (8 probe images) and logs it. Speed is never
 * asserted. Set CNNVIZ_VIZ_DEMO_DIR to keep the output somewhere to look at.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeEpochViz } from '../../src/viz/epoch.js';
import { writeReport } from '../../src/viz/report.js';
import { createVizScaleState } from '../../src/viz/scale.js';
import { CIFAR_CLASSES, fakeCifarProbe, fakeMetrics } from './fake-probe.js';

describe('writeEpochViz timing (CIFAR net, 8 probe images)', () => {
  it('writes one epoch of pictures and logs the time', async () => {
    const out = process.env.CNNVIZ_VIZ_DEMO_DIR ?? mkdtempSync(join(tmpdir(), 'cnnviz-viz-timing-'));
    const state = createVizScaleState();
    const times: string[] = [];
    for (let epoch = 1; epoch <= 3; epoch++) {
      const probe = fakeCifarProbe({ seed: epoch, weightGain: 1 + 0.1 * epoch });
      const t = performance.now();
      const cpu = process.cpuUsage();
      const s = await writeEpochViz(out, epoch, probe, { scale: 'layer', scaleState: state, classNames: CIFAR_CLASSES });
      const ms = performance.now() - t;
      const c = process.cpuUsage(cpu);
      times.push(`epoch ${epoch}: ${ms.toFixed(0)} ms wall, ${((c.user + c.system) / 1000).toFixed(0)} ms CPU over all threads (${s.files.length} files, text ${s.textEngine})`);
      expect(s.layers).toHaveLength(12);
    }
    const probe = fakeCifarProbe({ seed: 9 });
    const t = performance.now();
    await writeEpochViz(out, 4, probe, { scale: 'layer', scaleState: state, classNames: CIFAR_CLASSES, animations: 'none' });
    times.push(`epoch 4 without animations: ${(performance.now() - t).toFixed(0)} ms`);
    const t2 = performance.now();
    await writeReport(out, {
      name: 'demo run (fake probe)',
      model: 'convnetjs-cifar10: input 32x32x3, conv16 5x5, relu, pool, conv20, relu, pool, conv20, relu, pool, fc10, softmax',
      classNames: CIFAR_CLASSES,
      metrics: fakeMetrics(4),
      confusion: [{ epoch: 4, matrix: CIFAR_CLASSES.map((_, i) => CIFAR_CLASSES.map((__, j) => (i === j ? 60 : (i * 7 + j * 3) % 9))) }],
      details: { seed: 1, 'learning rate': 0.01 },
    });
    times.push(`writeReport: ${(performance.now() - t2).toFixed(0)} ms`);
    console.log(`writeEpochViz, CIFAR net, 8 probe images -> ${out}\n  ${times.join('\n  ')}`);
  });
});
