/**
 * The exporter asks each layer type for its ONNX ops (LayerDef.onnx); a type without the hook cannot be
 * exported, and `cnnviz export` says which layer and type (a UserError: one line, exit 2).
 */
import { describe, expect, it } from 'vitest';
import { findLayerDef, registerLayer } from '../../../src/nn/layers/registry.js';
import { Network } from '../../../src/nn/network.js';
import { exportableTypes } from '../../../src/nn/onnx/export.js';
import { snapshotToOnnx } from '../../../src/nn/onnx/network-export.js';
import { parseSpec } from '../../../src/nn/spec.js';
import { UserError } from '../../../src/util/errors.js';
import { testJoinLayer } from '../../helpers/test-layers.js';

describe('ONNX export hooks', () => {
  it('refuses a layer type without an onnx hook, naming the layer and its type (exit 2)', () => {
    if (!findLayerDef('testjoin')) registerLayer(testJoinLayer);
    const spec = parseSpec({
      layer_defs: [
        { type: 'input', out_sx: 4, out_sy: 4, out_depth: 1 },
        { type: 'conv', sx: 3, pad: 1, filters: 2, name: 'a' },
        { type: 'conv', sx: 3, pad: 1, filters: 2, inputs: ['a'], name: 'b' },
        { type: 'testjoin', inputs: ['a', 'b'], name: 'join' },
        { type: 'softmax', num_classes: 3 },
      ],
    }, 'join.json');
    const net = new Network(spec);
    net.initialize(1);
    let error: unknown;
    try {
      snapshotToOnnx({ spec, params: net.params }, net);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).exitCode).toBe(2);
    expect((error as UserError).message).toMatch(/^cannot export layer "join" \(testjoin\) to ONNX: cnnviz's exporter knows conv, pool, fc, /);
    expect(exportableTypes()).not.toContain('testjoin');
  });
});
