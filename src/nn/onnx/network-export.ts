/**
 * A built cnnviz network as the exporter's node list (export.ts): names, inputs, settings and named
 * tensors per node.
 */
import type { Network } from '../network.js';
import type { Snapshot } from '../snapshot.js';
import { exportOnnxModel, type ExportNode, type ExportOptions } from './export.js';
import { encodeModel } from './proto.js';

export function exportNodes(net: Network): ExportNode[] {
  return net.layers.map((layer) => ({
    name: layer.name,
    type: layer.type,
    inputs: layer.inputs.map((i) => net.layers[i].name),
    outShape: layer.outShape,
    settings: layer.config,
    tensors: Object.fromEntries([...layer.params, ...layer.state].map((t) => [t.name, t.data])),
  }));
}

/** ONNX bytes of a snapshot's network with its weights, preprocessing and class names. */
export function snapshotToOnnx(snap: Snapshot, net: Network, opts: ExportOptions = {}): Uint8Array {
  return encodeModel(exportOnnxModel(exportNodes(net), { preprocessing: snap.preprocessing, classNames: snap.classNames, ...opts }));
}
