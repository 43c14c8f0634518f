import type { Command } from 'commander';
import sharp from 'sharp';
import { CIFAR10_CLASS_NAMES } from '../../data/cifar10.js';
import { fillLookupTable, SCALE, type Preprocessing } from '../../data/preprocess.js';
import { evalContext } from '../../nn/network.js';
import { assertFiniteOutputs, assertFiniteParams } from '../../nn/finite.js';
import { assertMemoryFits, inferenceMemory, networkFootprint, setMemoryLimit } from '../../nn/memory.js';
import { loadModel, networkFor } from '../../nn/snapshot.js';
import { lossOf } from '../../nn/spec.js';
import { byteSize, pathText } from '../options.js';
import { errorMessage, UserError } from '../../util/errors.js';
import { readRegularFileSync } from '../../util/regular-file.js';
import { PREPROCESS_HELP, preprocessText, wholeNumber } from '../options.js';

/** Larger image files are refused before they are read (a photo is a few MB). */
const MAX_IMAGE_FILE_BYTES = 256 * 2 ** 20;

/**
 * Read an image file (PNG, JPEG, anything sharp reads) as the network's input: resized to its width
 * and height (stretched, like the 32x32 CIFAR images), planar channels, preprocessed as in training.
 * Returns the floats and the raw bytes (for drawing).
 */
export async function readImageAsInput(
  path: string,
  shape: [number, number, number],
  pre: Preprocessing,
): Promise<{ input: Float32Array; raw: Uint8Array; originalSize: [number, number] }> {
  const [c, h, w] = shape;
  if (c !== 1 && c !== 3) throw new UserError(`the network takes ${c}-channel images; only 1 (grey) or 3 (RGB) channels can be read from an image file`);
  let data: Buffer;
  let originalSize: [number, number] = [w, h];
  // Read here, from a regular file only (a FIFO or a device given as --image would block or never end).
  const file = readRegularFileSync(path, { what: '--image', maxBytes: MAX_IMAGE_FILE_BYTES });
  try {
    const meta = await sharp(file).metadata();
    if (meta.width && meta.height) originalSize = [meta.width, meta.height];
    let img = sharp(file).resize(w, h, { fit: 'fill', kernel: 'lanczos3' }).removeAlpha();
    if (c === 1) img = img.greyscale();
    data = (await img.raw().toBuffer({ resolveWithObject: true })).data;
  } catch (e) {
    throw new UserError(`${path}: cannot read as an image (${errorMessage(e)})`);
  }
  const lut = new Float32Array(3 * 256);
  fillLookupTable(pre, lut);
  const input = new Float32Array(c * h * w);
  const raw = new Uint8Array(c * h * w);
  for (let ch = 0; ch < c; ch++) {
    for (let p = 0; p < h * w; p++) {
      const v = data[p * c + ch];
      raw[ch * h * w + p] = v;
      input[ch * h * w + p] = lut[ch * 256 + v];
    }
  }
  return { input, raw, originalSize };
}

/** The class names of a model: its snapshot's, else CIFAR-10's for a 10-class network, else "class k". */
export function modelClassNames(snapshotNames: string[] | undefined, classes: number): string[] {
  if (snapshotNames && snapshotNames.length === classes) return snapshotNames;
  return classes === CIFAR10_CLASS_NAMES.length ? [...CIFAR10_CLASS_NAMES] : Array.from({ length: classes }, (_, i) => `class ${i}`);
}

export function registerPredict(program: Command): void {
  program
    .command('predict')
    .description('classify an image with a trained network: class probabilities, best first')
    .requiredOption('--model <spec|snapshot>', 'a cnnviz snapshot/checkpoint, a ConvNetJS snapshot or an ONNX model (a bare spec or preset gives an untrained network)', pathText)
    .requiredOption('--image <png|jpg>', 'the image to classify (resized to the network input)', pathText)
    .option('--json', 'print {"probabilities": [...], "label": k} on stdout, probabilities in class order')
    .option('--top <k>', 'how many classes to list (text output)', wholeNumber(1), 10)
    .option('--max-memory <size>', "refuse when the estimated memory is larger, e.g. 2G (default: the machine's memory)", byteSize)
    .option('--preprocess <mean=r,g,b std=r,g,b>', PREPROCESS_HELP, preprocessText)
    .action(async (opts: { model: string; image: string; json?: boolean; top: number; maxMemory?: number; preprocess?: Preprocessing }) => {
      setMemoryLimit(opts.maxMemory);
      const model = loadModel(opts.model, { preprocess: opts.preprocess });
      if (model.snapshot) assertFiniteParams(model.snapshot.params, opts.model);
      // The image is decoded and resized to the input size: that buffer (bytes, then floats) counts too.
      const imageBytes = 9 * networkFootprint(model.spec).inputValues;
      assertMemoryFits(inferenceMemory(model.spec, 1, [{ what: 'the resized image', bytes: imageBytes }]), opts.model);
      const net = networkFor(model, 1);
      const pre = opts.preprocess ?? model.snapshot?.preprocessing ?? SCALE;
      const { input } = await readImageAsInput(opts.image, net.inputShape, pre);
      const out = net.forward(input, 1, evalContext(net));
      const k = net.outputSize;
      assertFiniteOutputs(out.subarray(0, k), opts.model, `the network's outputs on ${opts.image}`);
      const probabilities = Array.from(out.subarray(0, k));
      let label = 0;
      for (let i = 1; i < k; i++) if (probabilities[i] > probabilities[label]) label = i;
      const names = modelClassNames(model.snapshot?.classNames, k);
      if (opts.json) {
        const result: Record<string, unknown> = { probabilities, label };
        result.className = names[label];
        process.stdout.write(`${JSON.stringify(result)}\n`);
        return;
      }
      if (!model.snapshot) process.stderr.write(`note: ${opts.model} has no trained weights; these are the predictions of a freshly initialised network\n`);
      const order = probabilities.map((p, i) => [p, i] as const).sort((a, b) => b[0] - a[0]).slice(0, opts.top);
      const isProb = lossOf(model.spec).probabilities;
      for (const [p, i] of order) {
        const name = names[i];
        process.stdout.write(`${name.padEnd(12)} ${isProb ? `${(100 * p).toFixed(2).padStart(6)}%` : p.toFixed(4)}\n`);
      }
    });
}
