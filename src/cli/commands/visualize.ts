import { Option, type Command } from 'commander';
import { existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { DATASET_NAMES, loadDataset, type DataOptions } from '../../data/dataset.js';
import { ensureData } from '../../data/download.js';
import { resizeSplit } from '../../data/resize.js';
import { shapeText, subsetSplit } from '../../data/split.js';
import { SCALE, type Preprocessing } from '../../data/preprocess.js';
import { evalContext } from '../../nn/network.js';
import { assertFiniteOutputs, assertFiniteParams } from '../../nn/finite.js';
import { assertMemoryFits, inferenceMemory, setMemoryLimit } from '../../nn/memory.js';
import { loadModel, networkFor } from '../../nn/snapshot.js';
import { argmaxRow } from '../../parallel/micro-batch.js';
import { assertFiniteProbe, chooseProbe, DEFAULT_PROBE_COUNT, MAX_PROBE_COUNT, parseProbeIndices, probeSplit, runProbe } from '../../train/probe.js';
import { needsResize, resizeNote } from '../../train/fit-images.js';
import { claimRunFolder } from '../../train/run-folder.js';
import { validateSavedProgress } from '../../train/validate-config.js';
import { ensureWritableDir } from '../../util/atomic-write.js';
import { UserError } from '../../util/errors.js';
import { writeEpochViz } from '../../viz/epoch.js';
import { writeReport } from '../../viz/report.js';
import { VIZ_SCALE_MODES, type VizScaleMode } from '../../viz/scale.js';
import { DEFAULT_EXPLORER_DATA, EXPLORER_DATA_MODES, type ExplorerDataMode } from '../../viz/explorer/data.js';
import { byteSize, PREPROCESS_HELP, preprocessText, seedNumber, wholeNumber, pathText } from '../options.js';
import { modelClassNames, readImageAsInput } from './predict.js';
import { formatSummary } from '../../nn/summary.js';

interface VisualizeOptions {
  model: string;
  image?: string;
  label?: string;
  data?: string;
  download: boolean;
  probe?: string;
  probeCount: number;
  seed: number;
  out?: string;
  overwrite?: boolean;
  vizScale: VizScaleMode;
  explorerData: ExplorerDataMode;
  maxMemory?: number;
  preprocess?: Preprocessing;
}

/** `--label`: a class number or a class name (case-insensitive). */
export function parseClassLabel(value: string, classNames: readonly string[]): number {
  const v = value.trim();
  const byName = classNames.findIndex((n) => n.toLowerCase() === v.toLowerCase());
  if (byName >= 0) return byName;
  const k = Number(v);
  if (v !== '' && Number.isInteger(k) && k >= 0 && k < classNames.length) return k;
  throw new UserError(`--label "${value}": not a class of this network; use a number 0..${classNames.length - 1} or one of ${classNames.join(', ')}`);
}

/** The data folder a checkpoint was trained on (its run configuration), when it still exists. */
function recordedDataDir(config: Record<string, unknown> | undefined): string | undefined {
  const d = config?.data;
  return typeof d === 'string' && d !== '' && existsSync(d) ? d : undefined;
}

/**
 * How to read the probe images' folder: as the run recorded it (a run without a record read CIFAR-10)
 * when it is the run's folder; a different --data is detected.
 */
function recordedDataOptions(config: Record<string, unknown> | undefined, dir: string | undefined): DataOptions | undefined {
  if (!config) return dir === undefined ? { kind: 'cifar-10' } : undefined;
  if (dir !== undefined && typeof config.data === 'string' && resolve(dir) !== resolve(config.data)) return undefined;
  return (config.dataset as DataOptions | undefined) ?? { kind: 'cifar-10' };
}

/** Options that choose or find test images: with --image there are none, so giving one is refused, not ignored. */
const TEST_IMAGE_OPTIONS = [['probe', '--probe'], ['probeCount', '--probe-count'], ['data', '--data']] as const;

function refuseWithImage(cmd: Command): void {
  const given = TEST_IMAGE_OPTIONS.filter(([k]) => cmd.getOptionValueSource(k) === 'cli').map(([, flag]) => flag);
  if (given.length === 0) return;
  throw new UserError(
    `${given.join(', ')} ${given.length === 1 ? 'chooses' : 'choose'} test images, which --image replaces; ` +
      'give --image alone to draw your image, or leave it out to draw test images',
  );
}

export function registerVisualize(program: Command): void {
  program
    .command('visualize')
    .description("draw every layer's pictures and the report for a saved network, on test images or on your own image")
    .requiredOption('--model <snapshot>', 'a cnnviz snapshot/checkpoint, a ConvNetJS snapshot or an ONNX model', pathText)
    .option('--out <dir>', 'output folder for the pictures and index.html (default: out/visualize-<model name>)', pathText)
    .option('--overwrite', 'replace the run or pictures in a non-empty --out (only the files cnnviz listed there are removed)')
    .option('--image <png|jpg>', "visualise this image (resized to the network's input, grey for a one-channel network) instead of test images", pathText)
    .option('--label <class>', 'with --image: the class (number or name) the loss, and so every gradient, is measured against (default: the predicted class)')
    .option('--data <dir>', 'data folder for the probe images, any kind train reads (default: the one the checkpoint was trained on, else data/cifar-10-batches-bin)', pathText)
    .option('--no-download', 'never download data')
    .option('--probe <indices>', 'test images to visualise, e.g. 3,17,42')
    .option('--probe-count <n>', `how many test images when --probe is not given (at most ${MAX_PROBE_COUNT})`, wholeNumber(1, MAX_PROBE_COUNT), DEFAULT_PROBE_COUNT)
    .option('--seed <n>', 'seed that chooses the probe images (0 to 4294967295)', seedNumber, 1)
    .option('--viz-scale <mode>', 'colour scale: robust, map, layer or run', 'robust')
    .addOption(new Option('--explorer-data <mode>', "probe tensors for the report's explorer: full (float32), half (float16) or off").choices(EXPLORER_DATA_MODES).default(DEFAULT_EXPLORER_DATA))
    .option('--max-memory <size>', "refuse when the estimated memory is larger, e.g. 2G (default: the machine's memory)", byteSize)
    .option('--preprocess <mean=r,g,b std=r,g,b>', PREPROCESS_HELP, preprocessText)
    .action(async (opts: VisualizeOptions, cmd: Command) => {
      if (opts.image) refuseWithImage(cmd);
      if (!VIZ_SCALE_MODES.includes(opts.vizScale)) throw new UserError(`--viz-scale: "${opts.vizScale}" is not one of ${VIZ_SCALE_MODES.join(', ')}`);
      setMemoryLimit(opts.maxMemory);
      const outDir = opts.out ?? join('out', `visualize-${basename(opts.model).replace(/\.(json|onnx)$/i, '')}${opts.image ? `-${basename(opts.image).replace(/\.[a-z0-9]+$/i, '')}` : ''}`);
      // Fail before the (possibly long) model load when the folder cannot be written at all.
      ensureWritableDir(outDir, '--out');
      const model = loadModel(opts.model, { preprocess: opts.preprocess });
      if (model.snapshot) assertFiniteParams(model.snapshot.params, opts.model);
      // The report plots the saved metrics: a damaged list must be one line, not a crash half-way.
      if (model.snapshot?.training) validateSavedProgress(model.snapshot.training, model.snapshot.optimizer?.state.step ?? 0, opts.model);
      const probeCount = opts.image ? 1 : opts.probe ? parseProbeIndices(opts.probe).length : opts.probeCount;
      assertMemoryFits(inferenceMemory(model.spec, probeCount), `${opts.model} on ${probeCount} image(s)`);
      if (!model.snapshot) process.stderr.write(`note: ${opts.model} has no trained weights; showing a freshly initialised network\n`);
      const net = networkFor(model, opts.seed);
      const pre = opts.preprocess ?? model.snapshot?.preprocessing ?? SCALE;
      const classes = net.outputSize;
      let classNames = modelClassNames(model.snapshot?.classNames, classes);
      if (opts.label !== undefined && !opts.image) throw new UserError('--label applies only with --image (test images have their true labels)');
      let probe;
      let source = opts.image ?? 'test images';
      if (opts.image) {
        const given = opts.label !== undefined ? parseClassLabel(opts.label, classNames) : undefined;
        const { input, raw, originalSize } = await readImageAsInput(opts.image, net.inputShape, pre);
        const out = net.forward(input, 1, evalContext(net));
        // Before its argmax picks the label: the argmax of NaNs is class 0.
        assertFiniteOutputs(out.subarray(0, classes), opts.model, `the network's outputs on ${opts.image}`);
        const label = given ?? argmaxRow(out, 0, classes);
        probe = runProbe(net, input, Int32Array.of(label), raw, [0]);
        assertFiniteProbe(probe, opts.model, opts.image);
        probe.userImage = { file: opts.image, width: originalSize[0], height: originalSize[1], labelFrom: given !== undefined ? 'option' : 'prediction' };
      } else {
        const config = model.snapshot?.training?.config;
        const dataDir = opts.data ?? recordedDataDir(config);
        const recorded = recordedDataOptions(config, dataDir);
        const dir = await ensureData(dataDir, recorded?.kind, { noDownload: !opts.download, log: (m) => process.stderr.write(`${m}\n`) });
        const data = await loadDataset(dir, { ...recorded, trainLimit: 0, defaultShape: model.spec.shapes[0] });
        const resize = needsResize(model.spec, data);
        if (!resize && data.test.shape.join() !== model.spec.shapes[0].join()) {
          throw new UserError(`${opts.model}: the network takes ${shapeText(model.spec.shapes[0])} images, but the ${DATASET_NAMES[data.kind]} images of ${dir} are ${shapeText(data.test.shape)}`);
        }
        source = `${DATASET_NAMES[data.kind]} test images`;
        classNames = model.snapshot?.classNames ?? data.classNames;
        const indices = chooseProbe(data.test.count, opts.seed, opts.probeCount, opts.probe ? parseProbeIndices(opts.probe) : undefined);
        if (resize) {
          // Only the probe images are resized: a larger model sees them at its own input size.
          const note = resizeNote(data.test.shape, model.spec.shapes[0], `the ${indices.length} ${DATASET_NAMES[data.kind]} probe`);
          process.stderr.write(`note: ${note}\n`);
          source = `${source}, resized from ${shapeText(data.test.shape)} to ${shapeText(model.spec.shapes[0])} (the model's input)`;
          const probeImages = await resizeSplit(subsetSplit(data.test, indices), model.spec.shapes[0][1], model.spec.shapes[0][2]);
          probe = probeSplit(net, probeImages, indices.map((_, i) => i), pre, indices);
        } else {
          probe = probeSplit(net, data.test, indices, pre);
        }
        assertFiniteProbe(probe, opts.model, `test image${indices.length === 1 ? '' : 's'} ${indices.join(', ')}`);
      }
      const epoch = model.snapshot?.training?.epoch ?? 0;
      // Everything is checked: claim the folder (lock; a non-empty one only with --overwrite, as for train).
      const folder = claimRunFolder(outDir, { what: '--out', overwrite: opts.overwrite === true });
      try {
        // One epoch only: animations would have a single frame, so none are written.
        await writeEpochViz(outDir, epoch, probe, { scale: opts.vizScale, classNames, animations: 'none', explorerData: opts.explorerData });
        const metrics = (model.snapshot?.training?.metrics ?? []) as Parameters<typeof writeReport>[1]['metrics'];
        await writeReport(outDir, {
          name: `${basename(opts.model)}${opts.image ? ` on ${basename(opts.image)}` : ''}`,
          model: formatSummary(model.spec),
          classNames,
          metrics,
          details: { model: opts.model, source, epoch },
          scaleMode: opts.vizScale,
        });
      } finally {
        folder.release();
      }
      process.stdout.write(`${join(outDir, 'index.html')}\n`);
    });
}
