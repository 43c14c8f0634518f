/**
 * `--model model.onnx`: an ONNX file as a cnnviz snapshot (spec + parameters + preprocessing + class
 * names), ready for summary, predict, visualize and train (fine-tuning). The input scaling is, in
 * order: the caller's (--preprocess), the file's metadata_props, cnnviz's default (pixel/255 - 0.5).
 */
import { statSync } from 'node:fs';
import type { Preprocessing } from '../../data/preprocess.js';
import { capClassName } from '../../util/class-names.js';
import { UserError } from '../../util/errors.js';
import { readFileHead } from '../../util/regular-file.js';
import { assertMemoryFits, onnxImportMemory } from '../memory.js';
import { Network } from '../network.js';
import { parseSpec, type ModelSpec } from '../spec.js';
import { importOnnxGraph, type ImportedGraph } from './import.js';
import { readModelFile, type OnnxModel } from './proto.js';

/** Whether `path` names an ONNX file: by extension, or by content (protobuf tag 0x08; JSON never starts so). */
export function isOnnxPath(path: string): boolean {
  if (/\.onnx$/i.test(path)) return true;
  // One byte, from a regular file only (reading all of /dev/zero never ends).
  const head = readFileHead(path, 1);
  return head !== undefined && head.length > 0 && head[0] === 0x08;
}

/**
 * Copy the imported tensors into a built network's parameters and state, by node and tensor name.
 * A definition can build more than one layer (softmax = its fully connected layer + the softmax), so
 * the tensors go to the layers its definition (`source`) built.
 */
function setTensors(net: Network, g: ImportedGraph, file: string): void {
  g.layerDefs.forEach((def, index) => {
    const tensors = g.tensors[def.name];
    if (!tensors) return;
    const layers = net.layers.filter((l) => l.config.source === index);
    for (const [name, t] of Object.entries(tensors)) {
      const p = layers.flatMap((l) => [...l.params, ...l.state]).find((q) => q.name === name);
      if (!p) throw new UserError(`${file}: node "${def.name}" (${def.type}) has no parameter "${name}" in cnnviz`);
      if (p.data.length !== t.data.length) {
        throw new UserError(`${file}: node "${def.name}": "${name}" holds ${t.data.length} values, cnnviz's ${def.type} needs ${p.data.length} ([${p.shape.join(', ')}])`);
      }
      p.data.set(t.data);
    }
  });
}

/** What an ONNX file gives: a snapshot's spec, parameters, preprocessing and class names (see snapshot.ts). */
export interface OnnxSnapshot {
  spec: ModelSpec;
  params: Float32Array;
  state: Float32Array;
  preprocessing?: Preprocessing;
  classNames?: string[];
}

/** Float values the model's initializers and Constant tensors hold (product of their dims). */
function weightValues(m: OnnxModel): number {
  const tensors = [...(m.graph?.initializer ?? []), ...(m.graph?.node ?? []).flatMap((n) => (n.attribute ?? []).flatMap((a) => (a.t ? [a.t] : [])))];
  return tensors.reduce((sum, t) => sum + (t.dims ?? []).reduce((p: number, d) => p * Number(d), 1), 0);
}

export function loadOnnxSnapshot(path: string, preprocess?: Preprocessing): OnnxSnapshot {
  // --max-memory (or the machine) is respected before the file is read, and again before the weights are copied.
  let fileBytes = 0;
  try {
    fileBytes = statSync(path).size;
  } catch {
    // readModelFile names the problem
  }
  assertMemoryFits(onnxImportMemory(fileBytes), `${path} (importing it)`);
  const model = readModelFile(path);
  assertMemoryFits(onnxImportMemory(fileBytes, weightValues(model)), `${path} (importing it)`);
  const g = importOnnxGraph(model, path);
  const spec = parseSpec(g.layerDefs, path);
  const net = new Network(spec);
  net.resetState();
  setTensors(net, g, path);
  const snap: OnnxSnapshot = { spec, params: net.params, state: net.state };
  const pre = preprocess ?? g.preprocessing;
  if (pre) snap.preprocessing = pre;
  if (g.classNames) snap.classNames = g.classNames.map(capClassName);
  return snap;
}
