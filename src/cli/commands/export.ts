import type { Command } from 'commander';
import { describePreprocessing, SCALE, type Preprocessing } from '../../data/preprocess.js';
import { assertFiniteParams } from '../../nn/finite.js';
import { assertMemoryFits, inferenceMemory, setMemoryLimit } from '../../nn/memory.js';
import { snapshotToOnnx } from '../../nn/onnx/network-export.js';
import { EXPORT_OPSET } from '../../nn/onnx/export.js';
import { loadModel, networkFor } from '../../nn/snapshot.js';
import { versions } from '../../train/run-info.js';
import { writeFileAtomic } from '../../util/atomic-write.js';
import { UserError } from '../../util/errors.js';
import { byteSize, PREPROCESS_HELP, preprocessText, pathText } from '../options.js';

interface ExportOptions {
  model: string;
  out: string;
  preprocess?: Preprocessing;
  maxMemory?: number;
}

/** `cnnviz export`: a network as an ONNX file, for onnxruntime, PyTorch (onnx2torch) and other tools. */
export function registerExport(program: Command): void {
  program
    .command('export')
    .description('write a network as an ONNX model (probabilities as output, input scaling in its metadata)')
    .requiredOption('--model <snapshot>', 'a cnnviz snapshot/checkpoint, a ConvNetJS snapshot or an ONNX model (a bare spec or preset gives an untrained network)', pathText)
    .requiredOption('--out <model.onnx>', 'the ONNX file to write', pathText)
    .option('--max-memory <size>', "refuse when the estimated memory is larger, e.g. 2G (default: the machine's memory)", byteSize)
    .option('--preprocess <mean=r,g,b std=r,g,b>', PREPROCESS_HELP, preprocessText)
    .action(async (opts: ExportOptions) => {
      setMemoryLimit(opts.maxMemory);
      if (!/\.onnx$/i.test(opts.out)) throw new UserError(`--out ${opts.out}: name the file *.onnx (tools find ONNX models by that extension)`);
      const model = loadModel(opts.model, { preprocess: opts.preprocess });
      // A diverged network is refused here as predict refuses it: cnnviz would refuse to import the file too.
      if (model.snapshot) assertFiniteParams(model.snapshot.params, opts.model);
      // Before the network's buffers are allocated: refuse what cannot fit, as predict/visualize/train do.
      assertMemoryFits(inferenceMemory(model.spec, 1), opts.model);
      if (!model.snapshot) process.stderr.write(`note: ${opts.model} has no trained weights; exporting a freshly initialised network (seed 1)\n`);
      const net = networkFor(model, 1);
      const preprocessing = opts.preprocess ?? model.snapshot?.preprocessing ?? SCALE;
      const bytes = snapshotToOnnx({ spec: model.spec, params: net.params, preprocessing, classNames: model.snapshot?.classNames }, net, {
        producerVersion: versions().cnnviz,
      });
      await writeFileAtomic(opts.out, bytes);
      process.stdout.write(
        `${opts.out}: ONNX opset ${EXPORT_OPSET}, ${net.paramCount.toLocaleString('en-US')} parameters, ${(bytes.length / 1024).toFixed(1)} KiB; ` +
          `input "input" [batch, ${net.inputShape.join(', ')}] scaled as ${describePreprocessing(preprocessing)}; output "probabilities"\n`,
      );
    });
}
