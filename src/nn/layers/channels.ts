/**
 * Layers that move whole channels (ShuffleNet v2): {"type": "shuffle", "groups": g}, the channel shuffle
 * (channels seen as g groups of C/g; output channel j*g + i is input channel i*C/g + j, so each group of
 * the next grouped conv sees channels from every group before), and {"type": "slice", "from": a, "to": b},
 * input channels a .. b-1 (ShuffleNet's channel split). Values are copied, never changed: backward passes
 * each gradient plane back to the channel it came from. Kernels: gatherChannels* in src/tensor/elementwise.ts.
 *
 * ONNX: both export as Gather along the channel axis with constant indices, and the import reads such a
 * Gather back. The import also reads PyTorch's Reshape [N, g, C/g, H, W] -> Transpose [0, 2, 1, 3, 4] ->
 * Reshape [N, C, H, W] as the shuffle, and Slice along channels as the slice (src/nn/onnx/import.ts).
 */
import { gatherChannelsBackward, gatherChannelsForward } from '../../tensor/elementwise.js';
import { defineLayer, type LayerDef, type LayerNode, type OnnxImportNode } from './layer.js';

/** The input channel of each output channel of a shuffle of C channels in g groups. */
export function shuffleSource(channels: number, groups: number): Int32Array {
  const per = channels / groups;
  const src = new Int32Array(channels);
  for (let i = 0; i < groups; i++) for (let j = 0; j < per; j++) src[j * groups + i] = i * per + j;
  return src;
}

function gatherImpl(node: LayerNode, source: Int32Array) {
  const [inC, h, w] = node.inShapes[0];
  return {
    forward(inputs: Float32Array[], output: Float32Array, n: number) {
      gatherChannelsForward(n, inC, h * w, source, inputs[0], output);
    },
    backward(_inputs: Float32Array[], _output: Float32Array, outputGrad: Float32Array, inputGrads: (Float32Array | null)[], n: number) {
      gatherChannelsBackward(n, inC, h * w, source, outputGrad, inputGrads[0]);
    },
  };
}

/** Gather(x, indices, axis 1) of a constant index list: a shuffle or a slice when it is one. */
function readGather(n: OnnxImportNode): void {
  const v = n.image(0);
  const axis = n.int('axis', 0);
  if (axis !== 1 && axis !== -3) n.fail(`gathers along axis ${axis}; cnnviz gathers image values along channels (axis 1) only`);
  const idx = Array.from(n.constant(1, 'indices').data, (k) => (k < 0 ? k + v.shape[0] : k));
  const c = v.shape[0];
  const contiguous = idx.length > 0 && idx.every((k, i) => k === idx[0] + i) && idx[0] >= 0 && idx[idx.length - 1] < c;
  if (contiguous) return n.emit({ type: 'slice', from: idx[0], to: idx[idx.length - 1] + 1 }, { out: { shape: [idx.length, v.shape[1], v.shape[2]], flat: false } });
  for (let g = 2; g < c; g++) {
    if (c % g === 0 && idx.length === c && shuffleSource(c, g).every((k, i) => k === idx[i])) return n.emit({ type: 'shuffle', groups: g });
  }
  n.fail('gathers channels in an order that is neither a channel shuffle nor a contiguous slice');
}

export const shuffleLayer: LayerDef = defineLayer<{ groups: number }>({
  type: 'shuffle',
  parse: (r) => ({ groups: r.int('groups', 1) }),
  outShape(c, [prev], fail) {
    if (prev[0] % c.groups !== 0) fail('groups', `(${c.groups}) must divide the ${prev[0]} channels`);
    return [prev[0], prev[1], prev[2]];
  },
  describe: (c) => `channel shuffle, ${c.groups} groups (channel j*${c.groups} + i = input channel i*C/${c.groups} + j)`,
  hints: { negative: 'if-inputs-can', explain: 'shuffle', positions: 'same', noun: () => 'the channel shuffle', passesDown: () => 'sends each gradient map back to the channel it came from', words: () => ({
      what: 'Channel shuffle (ShuffleNet): no arithmetic, only a new order of the channels. They are seen as g groups; the output takes the first channel of every group, then the second of every group, and so on, so that the next grouped convolution mixes channels that came from different groups. Backward: each gradient map goes back to the channel it came from.',
      pictures: {
        activations: 'The same maps as the layer below, in the shuffled order: tile j\u00b7g + i is input channel i\u00b7C/g + j.',
      },
  }) },
  create: (node) => gatherImpl(node, shuffleSource(node.inShapes[0][0], node.config.groups)),
  onnx: ({ config: c }, b) => {
    const x = b.as4d(b.inputs[0]);
    const ch = b.shapeOf(x)[0];
    b.output('Gather', [x, b.ints('indices', [ch], Array.from(shuffleSource(ch, c.groups)))], { axis: 1 });
  },
  onnxImport: { ops: ['Gather'], read: readGather },
});

export const sliceLayer: LayerDef = defineLayer<{ from: number; to: number }>({
  type: 'slice',
  parse: (r) => ({ from: r.int('from', 0), to: r.int('to', 1) }),
  outShape(c, [prev], fail) {
    if (!(c.from < c.to && c.to <= prev[0])) fail('to', `channels ${c.from}..${c.to - 1} are not inside the ${prev[0]} channels of its input`);
    return [c.to - c.from, prev[1], prev[2]];
  },
  describe: (c) => `channel slice, input channels ${c.from}..${c.to - 1}`,
  hints: { negative: 'if-inputs-can', explain: 'slice', positions: 'same', noun: () => 'the channel slice', passesDown: () => 'sends the gradient back to the channels it took and none to the others', words: () => ({
      what: 'Channel slice (ShuffleNet\u2019s channel split): passes on a range of its input\u2019s channels unchanged. ShuffleNet sends one half through a small block and the other half around it, then joins them (concat). Backward: the gradient goes back to those channels; the others get none from here.',
      pictures: {
        activations: 'Exactly the chosen channels of the layer below (its tiles from \u201cfrom\u201d on).',
      },
  }) },
  create: (node) => gatherImpl(node, Int32Array.from({ length: node.config.to - node.config.from }, (_, i) => node.config.from + i)),
  onnx: ({ config: c }, b) => {
    const x = b.as4d(b.inputs[0]);
    b.output('Slice', [x, b.ints('starts', [1], [c.from]), b.ints('ends', [1], [c.to]), b.ints('axes', [1], [1])]);
  },
  onnxImport: {
    ops: ['Slice'],
    read(n) {
      const v = n.image(0);
      const c = v.shape[0];
      const list = (i: number, attr: string): number[] | undefined =>
        n.opset < 10 ? n.ints(attr) : n.hasInput(i) ? Array.from(n.constant(i, attr).data) : undefined;
      const starts = list(1, 'starts') ?? [];
      const ends = list(2, 'ends') ?? [];
      const axes = list(3, 'axes') ?? starts.map((_, i) => i);
      const steps = n.opset < 10 ? undefined : list(4, 'steps');
      if (axes.length !== 1 || (axes[0] !== 1 && axes[0] !== -3) || (steps && steps.some((s) => s !== 1))) {
        n.fail(`slices axes [${axes.join(', ')}]${steps ? ` with steps [${steps.join(', ')}]` : ''}; cnnviz slices image values along channels (axis 1, step 1) only`);
      }
      const clamp = (k: number) => Math.min(c, Math.max(0, k < 0 ? k + c : k));
      const from = clamp(starts[0]);
      const to = clamp(ends[0]);
      if (!(from < to)) n.fail(`takes channels ${from}..${to - 1} of ${c}: nothing`);
      n.emit({ type: 'slice', from, to }, { out: { shape: [to - from, v.shape[1], v.shape[2]], flat: false } });
    },
  },
});
