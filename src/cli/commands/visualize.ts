import type { Command } from 'commander';
import { basename, join } from 'node:path';
import { CIFAR10_CLASS_NAMES, CIFAR10_IMAGE, loadCifar10 } from '../../data/cifar10.js';
import { ensureCifar10 } from '../../data/download.js';
import { SCALE } from '../../data/preprocess.js';
import { evalContext } from '../../nn/network.js';
import { assertFiniteParams } from '../../nn/finite.js';
import { assertMemoryFits, inferenceMemory, setMemoryLimit } from '../../nn/memory.js';
import { loadModel, networkFor } from '../../nn/snapshot.js';
import { assertInputShape } from '../../nn/spec.js';
import { argmaxRow } from '../../parallel/micro-batch.js';
import { chooseProbe, DEFAULT_PROBE_COUNT, MAX_PROBE_COUNT, parseProbeIndices, probeSplit, runProbe } from '../../train/probe.js';
import { validateSavedProgress } from '../../train/validate-config.js';
import { ensureWritableDir } from '../../util/atomic-write.js';
import { UserError } from '../../util/errors.js';
import { writeEpochViz } from '../../viz/epoch.js';
import { writeReport } from '../../viz/report.js';
import { VIZ_SCALE_MODES, type VizScaleMode } from '../../viz/scale.js';
import { byteSize, seedNumber, wholeNumber } from '../options.js';
import { readImageAsInput } from './predict.js';
import { formatSummary } from '../../nn/summary.js';

interface VisualizeOptions {
  model: string;
  image?: string;
  label?: number;
  data?: string;
  download: boolean;
  probe?: string;
  probeCount: number;
  seed: number;
  out: string;
  vizScale: VizScaleMode;
  maxMemory?: number;
}


export function registerVisualize(program: Command): void {
  program
    .command('visualize')
    .description("draw every layer's pictures and the report for a saved network, on test images or on your own image")
    .requiredOption('--model <snapshot>', 'a cnnviz snapshot/checkpoint or a ConvNetJS snapshot')
    .requiredOption('--out <dir>', 'output folder for the pictures and index.html')
    .option('--image <png|jpg>', 'visualise this image instead of CIFAR-10 test images')
    .option('--label <k>', 'with --image: the class the loss (and so every gradient) is measured against (default: the predicted class)', wholeNumber(0))
    .option('--data <dir>', 'CIFAR-10 folder for the probe images (default: data/cifar-10-batches-bin)')
    .option('--no-download', 'never download CIFAR-10')
    .option('--probe <indices>', 'test images to visualise, e.g. 3,17,42')
    .option('--probe-count <n>', `how many test images when --probe is not given (at most ${MAX_PROBE_COUNT})`, wholeNumber(1, MAX_PROBE_COUNT), DEFAULT_PROBE_COUNT)
    .option('--seed <n>', 'seed that chooses the probe images (0 to 4294967295)', seedNumber, 1)
    .option('--viz-scale <mode>', 'colour scale: map, layer or run', 'layer')
    .option('--max-memory <size>', "refuse when the estimated memory is larger, e.g. 2G (default: the machine's memory)", byteSize)
    .action(async (opts: VisualizeOptions) => {
      if (!VIZ_SCALE_MODES.includes(opts.vizScale)) throw new UserError(`--viz-scale: "${opts.vizScale}" is not one of ${VIZ_SCALE_MODES.join(', ')}`);
      setMemoryLimit(opts.maxMemory);
      ensureWritableDir(opts.out, '--out');
      const model = loadModel(opts.model);
      if (model.snapshot) assertFiniteParams(model.snapshot.params, opts.model);
      // The report plots the saved metrics: a damaged list must be one line, not a crash half-way.
      if (model.snapshot?.training) validateSavedProgress(model.snapshot.training, model.snapshot.optimizer?.state.step ?? 0, opts.model);
      const probeCount = opts.image ? 1 : opts.probe ? parseProbeIndices(opts.probe).length : opts.probeCount;
      assertMemoryFits(inferenceMemory(model.spec, probeCount), `${opts.model} on ${probeCount} image(s)`);
      if (!model.snapshot) process.stderr.write(`note: ${opts.model} has no trained weights; showing a freshly initialised network\n`);
      const net = networkFor(model, opts.seed);
      const pre = model.snapshot?.preprocessing ?? SCALE;
      const classes = net.outputSize;
      let classNames = model.snapshot?.classNames ?? (classes === CIFAR10_CLASS_NAMES.length ? [...CIFAR10_CLASS_NAMES] : Array.from({ length: classes }, (_, i) => `class ${i}`));
      let probe;
      if (opts.image) {
        const { input, raw } = await readImageAsInput(opts.image, net.inputShape, pre);
        const out = net.forward(input, 1, evalContext(net));
        const label = opts.label ?? argmaxRow(out, 0, classes);
        if (label >= classes) throw new UserError(`--label ${label}: the network has ${classes} classes (0..${classes - 1})`);
        probe = runProbe(net, input, Int32Array.of(label), raw, [0]);
      } else {
        assertInputShape(model.spec, [CIFAR10_IMAGE.channels, CIFAR10_IMAGE.height, CIFAR10_IMAGE.width], 'CIFAR-10');
        const dir = await ensureCifar10(opts.data, { noDownload: !opts.download, log: (m) => process.stderr.write(`${m}\n`) });
        const data = await loadCifar10(dir, { trainLimit: 0 });
        classNames = model.snapshot?.classNames ?? data.classNames;
        const indices = chooseProbe(data.test.count, opts.seed, opts.probeCount, opts.probe ? parseProbeIndices(opts.probe) : undefined);
        probe = probeSplit(net, data.test, indices, pre);
      }
      const epoch = model.snapshot?.training?.epoch ?? 0;
      await writeEpochViz(opts.out, epoch, probe, { scale: opts.vizScale, classNames });
      const metrics = (model.snapshot?.training?.metrics ?? []) as Parameters<typeof writeReport>[1]['metrics'];
      await writeReport(opts.out, {
        name: `${basename(opts.model)}${opts.image ? ` on ${basename(opts.image)}` : ''}`,
        model: formatSummary(model.spec),
        classNames,
        metrics,
        details: { model: opts.model, source: opts.image ?? 'CIFAR-10 test images', epoch },
        scaleMode: opts.vizScale,
      });
      process.stdout.write(`${join(opts.out, 'index.html')}\n`);
    });
}
