/**
 * A built cnnviz network as the exporter's node list (export.ts): names, inputs, settings and named
 * tensors per node.
 */
import type { Network } from '../network.js';
import type { Snapshot } from '../snapshot.js';
import { exportOnnxModel, type ExportNode, type ExportOptions } from './export.js';
import { encodeModel } from './proto.js';

export function exportNodes(net: Network): ExportNode[] {
  const names = net.layers.map((l, i) => `${String(i).padStart(2, '0')}-${l.type}`);
  return net.layers.map((layer, i) => ({
    name: names[i],
    type: layer.type,
    inputs: i === 0 ? [] : [names[i - 1]],
    outShape: layer.outShape,
    settings: layer.config as unknown as Record<string, unknown>,
    tensors: Object.fromEntries(layer.params.map((p) => [p.name, p.data])),
  }));
}

/** ONNX bytes of a snapshot's network with its weights, preprocessing and class names. */
export function snapshotToOnnx(snap: Snapshot, net: Network, opts: ExportOptions = {}): Uint8Array {
  return encodeModel(exportOnnxModel(exportNodes(net), { preprocessing: snap.preprocessing, classNames: snap.classNames, ...opts }));
}
