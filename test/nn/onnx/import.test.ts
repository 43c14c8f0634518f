import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { importOnnxGraph, SUPPORTED_OPS } from '../../../src/nn/onnx/import.js';
import { decodeModel, encodeModel, type OnnxModel } from '../../../src/nn/onnx/proto.js';
import { toFloat32 } from '../../../src/nn/onnx/tensors.js';
import { UserError } from '../../../src/util/errors.js';
import { parseSpec } from '../../../src/nn/spec.js';
import { FIXTURES, fixtureBytes, fixturePreprocessing, pytorchAgreement } from './fixtures.js';

function decoded(name: string): OnnxModel {
  return decodeModel(fixtureBytes(name), name);
}

/** The UserError message of f (and that it is one, with exit code 2). */
function userError(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    expect((e as UserError).exitCode).toBe(2);
    return (e as Error).message;
  }
  throw new Error('expected a UserError');
}

describe('ONNX decoding errors', () => {
  it('says a JSON or PNG file is not ONNX', () => {
    expect(userError(() => decodeModel(Buffer.from('{"layers": []}'), 'spec.json'))).toMatch(/^spec\.json: not an ONNX model/);
    const png = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13);
    expect(userError(() => decodeModel(png, 'cat.png'))).toMatch(/^cat\.png: not an ONNX model/);
    expect(userError(() => decodeModel(new Uint8Array(0), 'empty.onnx'))).toMatch(/empty file/);
  });

  it('says a truncated file is truncated, wherever it is cut', () => {
    const bytes = fixtureBytes('resnet_bn');
    for (const cut of [40, 1000, Math.floor(bytes.length / 2), bytes.length - 100]) {
      expect(userError(() => decodeModel(bytes.subarray(0, cut), 'cut.onnx'))).toMatch(/^cut\.onnx: (truncated ONNX file|not an ONNX model, or a truncated one)/);
    }
  });

  it('refuses tensors stored in external data files, naming the tensor and the file', () => {
    const m = decoded('plain_cnn');
    const t = m.graph!.initializer![0];
    t.raw_data = undefined;
    t.data_location = 1;
    t.external_data = [{ key: 'location', value: 'plain_cnn.onnx.data' }, { key: 'offset', value: '0' }];
    const msg = userError(() => decodeModel(encodeModel(m), 'ext.onnx'));
    expect(msg).toContain(`tensor "${t.name}" keeps its data in an external file (plain_cnn.onnx.data)`);
  });
});

describe('ONNX graph import', () => {
  it('names every unsupported op type at once: its count, its first node, and the supported ops', () => {
    const m = decoded('resnet_bn');
    const gap = m.graph!.node!.find((n) => n.op_type === 'GlobalAveragePool')!;
    gap.op_type = 'GlobalMaxPool';
    const relus = m.graph!.node!.filter((n) => n.op_type === 'Relu');
    for (const r of relus) r.op_type = 'Selu';
    const msg = userError(() => importOnnxGraph(m, 'r.onnx'));
    const lines = msg.split('\n');
    expect(lines[0]).toBe('r.onnx: cnnviz cannot import these 2 (nothing was imported):');
    expect(lines[1]).toBe(`  Selu: ${relus.length} nodes, first node "${relus[0].name}" (Selu): op not supported`);
    expect(lines[2]).toBe(`  GlobalMaxPool: 1 node, first node "${gap.name}" (GlobalMaxPool): op not supported`);
    expect(lines[lines.length - 1]).toBe(`cnnviz imports these ONNX ops: ${SUPPORTED_OPS.join(', ')}`);
  });

  it('reports a known op it cannot take beside the unsupported ones, naming the ONNX node, never a spec index', () => {
    const m = decoded('plain_cnn');
    const conv2 = m.graph!.node!.filter((n) => n.op_type === 'Conv')[1];
    conv2.attribute!.find((a) => a.name === 'strides')!.ints = [0, 0];
    m.graph!.node!.find((n) => n.op_type === 'Tanh')!.op_type = 'Mish';
    const msg = userError(() => importOnnxGraph(m, 'p.onnx'));
    expect(msg).toContain('  Mish: 1 node, first node');
    // strides [0, 0] are refused at the Conv itself, not later as "Infinity values" at the Gemm.
    expect(msg).toContain(`  node "${conv2.name}" (Conv): attribute "strides" is [0, 0]; strides must be 1 or more`);
    expect(msg).not.toMatch(/layer \d+/);
  });

  it('names unnamed nodes by op and position, and refuses a negative dimension as damage', () => {
    const m = decoded('plain_cnn');
    const conv = m.graph!.node![0];
    conv.name = '';
    conv.attribute!.find((a) => a.name === 'group')!.i = 5;
    expect(userError(() => importOnnxGraph(m, 'u.onnx'))).toMatch(/^u\.onnx: Conv node #0 \(unnamed\): attribute "group" is 5; it must divide the 3 input channels/);
    const neg = decoded('plain_cnn');
    const w = neg.graph!.initializer![0];
    w.dims = [-(w.dims![0]), ...w.dims!.slice(1)];
    expect(userError(() => importOnnxGraph(neg, 'n.onnx'))).toMatch(new RegExp(`^n\\.onnx: initializer "${w.name}" has shape \\[-\\d+, .*\\]: dimensions must be whole numbers of 0 or more$`));
  });

  it('refuses cnnviz.class_names whose count differs from the class scores', () => {
    const m = decoded('plain_cnn');
    m.metadata_props = [{ key: 'cnnviz.class_names', value: JSON.stringify(['cat', 'dog']) }];
    expect(userError(() => importOnnxGraph(m, 'c.onnx'))).toBe('c.onnx: metadata_props "cnnviz.class_names" names 2 classes, but the model outputs 10 class scores');
    m.metadata_props = [{ key: 'cnnviz.class_names', value: JSON.stringify(Array.from({ length: 10 }, (_, i) => `c${i}`)) }];
    expect(importOnnxGraph(m, 'c.onnx').classNames).toHaveLength(10);
  });

  it('refuses opsets outside 9-18 and broadcasting adds with one-line messages', () => {
    const old = decoded('plain_cnn');
    old.opset_import![0].version = 8;
    expect(userError(() => importOnnxGraph(old, 'o.onnx'))).toMatch(/opset 8 is not supported \(cnnviz imports opsets 9 to 18/);
    const bcast = decoded('resnet_bn');
    const add = bcast.graph!.node!.find((n) => n.op_type === 'Add')!;
    add.input![1] = 'input';
    expect(userError(() => importOnnxGraph(bcast, 'b.onnx'))).toMatch(/node "\/layer1\/Add" \(Add\): adds values of shapes 12x32x32 and 3x32x32/);
  });

  it('turns the ResNet into a graph spec: batch norm state, projection shortcuts without bias, adds with two inputs', () => {
    const g = importOnnxGraph(decoded('resnet_bn'), 'resnet_bn.onnx');
    const byName = new Map(g.layerDefs.map((d) => [d.name, d]));
    expect(byName.get('layer2.shortcut.0.conv')).toEqual({
      name: 'layer2.shortcut.0.conv', type: 'conv', sx: 1, sy: 1, filters: 24, stride: 2, pad: 0, bias: false, inputs: ['layer1.relu_1'],
    });
    expect(byName.get('layer2.add')).toEqual({ name: 'layer2.add', type: 'add', inputs: ['layer2.bn2', 'layer2.shortcut.1.bn'] });
    expect(byName.get('layer1.bn1')).toEqual({ name: 'layer1.bn1', type: 'batchnorm', momentum: 0.1, eps: 1e-5, affine: true });
    expect(Object.keys(g.tensors['layer1.bn1'])).toEqual(['gamma', 'beta', 'runningMean', 'runningVar']);
    expect(g.layerDefs[g.layerDefs.length - 1]).toEqual({ name: 'softmax', type: 'softmax', num_classes: 10 });
    expect(g.tensors.softmax.weights.shape).toEqual([10, 32, 1, 1]);
    // Running statistics are the file's bytes.
    const init = decoded('resnet_bn').graph!.initializer!.find((t) => t.name === 'layer1.bn1.running_var')!;
    expect(g.tensors['layer1.bn1'].runningVar.data).toEqual(toFloat32(init, ''));
    expect(g.preprocessing).toBeUndefined();
  });

  it('reads Pad + AveragePool as count_include_pad, and the preprocessing from metadata_props', () => {
    const g = importOnnxGraph(decoded('avgpool_concat'), 'a.onnx');
    const pools = g.layerDefs.filter((d) => d.type === 'pool');
    expect(pools.map((p) => [p.pad, p.count_include_pad])).toEqual([[0, true], [1, false], [1, true]]);
    expect(g.layerDefs.find((d) => d.type === 'concat')!.inputs).toEqual(['sigmoid', 'leakyrelu', 'relu']);
    expect(g.preprocessing).toEqual(fixturePreprocessing('avgpool_concat'));
  });

  it('folds PyTorch\'s x.view(x.size(0), -1) (Shape, Gather, Unsqueeze, Concat of constants) into a flat Reshape', () => {
    const m = decoded('plain_cnn');
    const ops = m.graph!.node!.map((n) => n.op_type);
    for (const op of ['Shape', 'Gather', 'Unsqueeze', 'Concat', 'Reshape']) expect(ops).toContain(op);
    const g = importOnnxGraph(m, 'p.onnx');
    expect(g.layerDefs.map((d) => d.type)).toEqual(['input', 'conv', 'relu', 'pool', 'conv', 'sigmoid', 'pool', 'fc', 'tanh', 'softmax']);
    // Gather on an image-shaped value (not a shape) is a channel gather; along the batch axis it is refused, naming the node.
    const bad = decoded('plain_cnn');
    const gather = bad.graph!.node!.find((n) => n.op_type === 'Gather')!;
    gather.input![0] = 'input';
    expect(userError(() => importOnnxGraph(bad, 'b.onnx'))).toMatch(/node "\/Gather" \(Gather\): gathers along axis 0; cnnviz gathers image values along channels \(axis 1\) only/);
  });

  it('a MatMul without its Add, and a Gemm without C, become fc layers with "bias": false (no biases tensor)', () => {
    const m = decoded('plain_cnn_matmul');
    const nodes = m.graph!.node!;
    // Drop fc1's Add: Tanh reads the MatMul directly.
    const add = nodes.findIndex((n) => n.name === '/fc1/Gemm_add');
    const mmOut = nodes[add].input![0];
    nodes.find((n) => n.op_type === 'Tanh')!.input = [mmOut];
    nodes.splice(add, 1);
    const g = importOnnxGraph(m, 'm.onnx');
    const fc1 = g.layerDefs.find((d) => d.type === 'fc')!;
    expect(fc1.bias).toBe(false);
    expect(Object.keys(g.tensors[fc1.name])).toEqual(['weights']);
    // fc2 keeps its bias (the softmax definition builds it).
    expect(g.layerDefs.at(-1)!.bias).toBeUndefined();
    const spec = parseSpec(g.layerDefs, 'm.onnx');
    expect(spec.layers.filter((l) => l.type === 'fc').map((l) => l.bias)).toEqual([false, true]);
    // Gemm without C, as the output layer: the softmax's fc has no biases.
    const gm = decoded('plain_cnn');
    const gemm = gm.graph!.node!.filter((n) => n.op_type === 'Gemm').at(-1)!;
    gemm.input = gemm.input!.slice(0, 2);
    const spec2 = parseSpec(importOnnxGraph(gm, 'g.onnx').layerDefs, 'g.onnx');
    expect(spec2.layers.filter((l) => l.type === 'fc').map((l) => l.bias)).toEqual([true, false]);
  });

  it('lays fc weights out as [units, C, H, W]: MatMul + Add and Gemm(transB) give the same tensors', () => {
    const gemm = importOnnxGraph(decoded('plain_cnn'), 'p.onnx');
    const matmul = importOnnxGraph(decoded('plain_cnn_matmul'), 'm.onnx');
    const fc = gemm.tensors.fc1;
    expect(fc.weights.shape).toEqual([24, 12, 4, 4]);
    const mm = Object.entries(matmul.tensors).find(([k]) => k.startsWith('fc1'))![1];
    expect(mm.weights.data).toEqual(fc.weights.data);
    expect(mm.biases.data).toEqual(fc.biases.data);
  });
});

describe('ONNX models from PyTorch, run by cnnviz', () => {
  // Models made only of layer types the sequential engine has; the others run in graph tests.
  for (const name of ['plain_cnn', 'plain_cnn_matmul']) {
    it(`${name}: reproduces PyTorch's probabilities to 1e-5`, () => {
      const { worst, preprocessing, expectedPreprocessing } = pytorchAgreement(name);
      expect(preprocessing).toEqual(expectedPreprocessing);
      expect(worst).toBeLessThan(1e-5);
    });
  }
});

describe('hostile ONNX files for the zoo ops: one line naming the ONNX node, never a spec index', () => {
  const zoo = (name: string): OnnxModel => decodeModel(readFileSync(`${FIXTURES}${name}.onnx`), `${name}.onnx`);
  const constOf = (m: OnnxModel, value: string) =>
    m.graph!.initializer!.find((t) => t.name === value) ?? m.graph!.node!.find((n) => n.output?.[0] === value)!.attribute![0].t!;
  const setScalar = (m: OnnxModel, value: string, x: number) => {
    const t = constOf(m, value);
    t.raw_data = new Uint8Array(Float32Array.of(x).buffer);
  };

  it('Clip with min above max, PRelu with a slope per something else, NaN attributes, negative pads', () => {
    const clip = zoo('mobile_blocks');
    const c = clip.graph!.node!.find((n) => n.op_type === 'Clip')!;
    setScalar(clip, c.input![1], 7);
    expect(userError(() => importOnnxGraph(clip, 'c.onnx'))).toBe(`c.onnx: node "${c.name}" (Clip): min (7) is above max (6)`);
    const prelu = zoo('course_acts');
    const p = prelu.graph!.node!.find((n) => n.op_type === 'PRelu')!;
    const slope = constOf(prelu, p.input![1]);
    slope.dims = [4, 2, 1];
    expect(userError(() => importOnnxGraph(prelu, 'p.onnx'))).toMatch(new RegExp(`^p\\.onnx: node "${p.name}" \\(PRelu\\): slope ".*" has shape \\[4, 2, 1\\]; cnnviz needs one slope per channel \\(\\[8, 1, 1\\]\\) or one for all$`));
    const elu = zoo('course_acts');
    const e = elu.graph!.node!.find((n) => n.op_type === 'Elu')!;
    e.attribute!.find((a) => a.name === 'alpha')!.f = NaN;
    expect(userError(() => importOnnxGraph(elu, 'e.onnx'))).toBe(`e.onnx: node "${e.name}" (Elu): alpha is NaN; it must be a finite number`);
    const pads = zoo('mobile_blocks');
    const dw = pads.graph!.node!.filter((n) => n.op_type === 'Conv')[2];
    dw.attribute!.find((a) => a.name === 'pads')!.ints = [-1, -1, -1, -1];
    expect(userError(() => importOnnxGraph(pads, 'd.onnx'))).toBe(`d.onnx: node "${dw.name}" (Conv): attribute "pads" is [-1, -1, -1, -1]; padding must be 0 or more`);
  });

  it('ReduceMean over channels, a Mul of unrelated shapes, a Div or Erf outside GELU, a group that does not divide the filters', () => {
    const rm = zoo('mobile_blocks');
    const r = rm.graph!.node!.find((n) => n.op_type === 'ReduceMean')!;
    r.attribute!.find((a) => a.name === 'axes')!.ints = [1];
    expect(userError(() => importOnnxGraph(rm, 'r.onnx'))).toMatch(/\(ReduceMean\): reduces over axes \[1\]; cnnviz reads ReduceMean only over height and width/);
    const mul = zoo('mobile_blocks');
    const gate = mul.graph!.node!.filter((n) => n.op_type === 'Mul').find((n) => !mul.graph!.node!.some((s) => s.op_type === 'HardSigmoid' && s.output![0] === n.input![1] && s.input![0] === n.input![0]))!;
    gate.input![1] = 'input';
    expect(userError(() => importOnnxGraph(mul, 'm.onnx'))).toMatch(new RegExp(`node "${gate.name}" \\(Mul\\): multiplies values of shapes .* and 3x32x32`));
    const div = zoo('course_acts');
    const d = div.graph!.node!.find((n) => n.op_type === 'Div')!;
    setScalar(div, d.input![1], 2);
    const msg = userError(() => importOnnxGraph(div, 'g.onnx'));
    expect(msg).toBe(`g.onnx: node "${d.name}" (Div): cnnviz reads Div only in GELU's form x * 0.5 * (1 + erf(x / sqrt 2)), as PyTorch writes nn.GELU()`);
    const grp = zoo('mobile_blocks');
    const g = grp.graph!.node!.filter((n) => n.op_type === 'Conv').find((n) => n.attribute!.find((a) => a.name === 'group')!.i === 4)!;
    g.attribute!.find((a) => a.name === 'group')!.i = 8;
    expect(userError(() => importOnnxGraph(grp, 'q.onnx'))).toMatch(new RegExp(`node "${g.name}" \\(Conv\\): weight ".*" has shape \\[12, 4, 1, 1\\]; expected \\[filters, 2, kH, kW\\] with filters a multiple of 8 \\(group 8\\)`));
  });
});

describe('hostile channels-last and constant-arithmetic graphs', () => {
  const load = (name: string): OnnxModel => decodeModel(readFileSync(`${FIXTURES}${name}.onnx`), `${name}.onnx`);
  const constOf = (m: OnnxModel, value: string) =>
    m.graph!.initializer!.find((t) => t.name === value) ?? m.graph!.node!.find((n) => n.output?.[0] === value)!.attribute![0].t!;

  it('refuses a Transpose that is not a bracket around per-pixel ops, naming it, and a conv reading a channels-last value', () => {
    const wrong = load('convnext_blocks');
    const back = wrong.graph!.node!.find((n) => n.op_type === 'Transpose' && n.attribute![0].ints!.join() === '0,3,1,2')!;
    back.attribute![0].ints = [0, 3, 2, 1];
    expect(userError(() => importOnnxGraph(wrong, 'w.onnx'))).toMatch(new RegExp(`^w\\.onnx: node "${back.name}" \\(Transpose\\): attribute "perm" is \\[0, 3, 2, 1\\]; cnnviz reads Transpose only .* or as \\[0, 2, 3, 1\\] to channels-last and \\[0, 3, 1, 2\\] back`));
    // The Transpose back left out: the next Conv reads a channels-last value; the message names both.
    const open = load('convnext_blocks');
    const g = open.graph!;
    const to = g.node!.find((n) => n.op_type === 'Transpose')!;
    const ret = g.node!.find((n) => n.op_type === 'Transpose' && n.attribute![0].ints!.join() === '0,3,1,2')!;
    const conv = g.node!.find((n) => n.input![0] === ret.output![0])!;
    conv.input![0] = ret.input![0];
    g.node!.splice(g.node!.indexOf(ret), 1);
    const msg = userError(() => importOnnxGraph(open, 'o.onnx'));
    expect(msg).toContain(`node "${conv.name}" (Conv): reads a channels-last value (made by node "${to.name}" (Transpose)); cnnviz reads channels-last values only in per-pixel ops`);
  });

  it('refuses a constant that varies along the width and a constant divided by a value', () => {
    const wide = load('const_arith');
    const sub = wide.graph!.node!.find((n) => n.op_type === 'Sub')!;
    constOf(wide, sub.input![1]).dims = [3];
    expect(userError(() => importOnnxGraph(wide, 'c.onnx'))).toMatch(new RegExp(`^c\\.onnx: node "${sub.name}" \\(Sub\\): Sub by constant ".*" of shape \\[3\\]; cnnviz reads arithmetic with a constant only of one value or one per channel \\(\\[1, 3, 1, 1\\] or \\[3, 1, 1\\] here\\)$`));
    const inv = load('const_arith');
    const div = inv.graph!.node!.find((n) => n.op_type === 'Div')!;
    div.input = [div.input![1], div.input![0]];
    expect(userError(() => importOnnxGraph(inv, 'd.onnx'))).toBe(`d.onnx: node "${div.name}" (Div): divides a constant by a value; cnnviz reads Div only of a value by a constant`);
  });
});

describe('Dropout from a train-mode export', () => {
  it('keeps a Dropout whose training_mode is true as a dropout layer, and refuses a ratio of 1', () => {
    const m = decoded('resnet_bn'); // opset 13: ratio and training_mode are inputs
    const g = m.graph!;
    const flatten = g.node!.find((n) => n.op_type === 'Flatten')!;
    const out = flatten.output![0];
    // Flatten -> Dropout(ratio 0.3, training_mode true) -> the Gemm that read the Flatten.
    g.initializer!.push(
      { name: 'ratio', dims: [], data_type: 1, raw_data: new Uint8Array(Float32Array.of(0.3).buffer) },
      { name: 'train', dims: [], data_type: 9, raw_data: Uint8Array.of(1) },
    );
    for (const n of g.node!) if (n !== flatten) n.input = n.input!.map((i) => (i === out ? 'dropped' : i));
    g.node!.splice(g.node!.indexOf(flatten) + 1, 0, { name: '/drop/Dropout', op_type: 'Dropout', input: [out, 'ratio', 'train'], output: ['dropped', 'mask'] });
    const defs = importOnnxGraph(m, 't.onnx').layerDefs;
    expect(defs.find((d) => d.type === 'dropout')).toEqual({ name: 'drop.dropout', type: 'dropout', drop_prob: 0.3 });
    g.initializer!.find((t) => t.name === 'ratio')!.raw_data = new Uint8Array(Float32Array.of(1).buffer);
    expect(userError(() => importOnnxGraph(m, 't.onnx'))).toBe('t.onnx: node "/drop/Dropout" (Dropout): ratio is 1; it must be at least 0 and below 1');
  });
});

describe('hostile ShuffleNet graphs', () => {
  const shuffle = (): OnnxModel => decodeModel(readFileSync(`${FIXTURES}shuffle_units.onnx`), 'shuffle_units.onnx');

  it('refuses a Transpose outside the channel shuffle, a Slice along height, and a 5-D value read by anything else', () => {
    const t = shuffle();
    const tr = t.graph!.node!.find((n) => n.op_type === 'Transpose')!;
    tr.attribute!.find((a) => a.name === 'perm')!.ints = [0, 1, 2, 4, 3];
    expect(userError(() => importOnnxGraph(t, 't.onnx'))).toMatch(/\(Transpose\): attribute "perm" is \[0, 1, 2, 4, 3\]; cnnviz reads Transpose only inside a channel shuffle/);
    const s = shuffle();
    const sl = s.graph!.node!.find((n) => n.op_type === 'Slice')!;
    const axes = s.graph!.node!.find((n) => n.output?.[0] === sl.input![3])!.attribute![0].t!;
    axes.raw_data = new Uint8Array(BigInt64Array.of(2n).buffer);
    expect(userError(() => importOnnxGraph(s, 's.onnx'))).toMatch(/\(Slice\): slices axes \[2\]; cnnviz slices image values along channels \(axis 1, step 1\) only/);
    const r = shuffle();
    const first = r.graph!.node!.find((n) => n.op_type === 'Transpose')!;
    first.op_type = 'Relu';
    first.attribute = [];
    expect(userError(() => importOnnxGraph(r, 'r.onnx'))).toMatch(/\(Relu\): reads a 5-D value; cnnviz reads Reshape to 5-D only as a channel shuffle/);
  });
});
