import { maxPool2dBackward, maxPool2dForward, type Pool2dDims } from '../../tensor/pool2d.js';
import { windowShape } from './conv.js';
import { defineLayer, ensureInt32, type LayerImpl, type LayerNode } from './layer.js';

export interface PoolFields {
  kernelH: number;
  kernelW: number;
  stride: number;
  pad: number;
}

function poolDims(node: LayerNode<PoolFields>): Pool2dDims {
  const c = node.config;
  const [ch, inH, inW] = node.inShapes[0];
  return { n: 0, c: ch, inH, inW, kH: c.kernelH, kW: c.kernelW, stride: c.stride, pad: c.pad, outH: node.outShape[1], outW: node.outShape[2] };
}

/** Max pooling on the TypeScript kernels; argmax: flat input index of each output's maximum. */
function maxPoolJs(node: LayerNode<PoolFields>): LayerImpl {
  const dims = poolDims(node);
  let argmax: Int32Array = new Int32Array(0);
  return {
    forward(inputs, output, n) {
      dims.n = n;
      argmax = ensureInt32(argmax, n * node.outSize);
      maxPool2dForward(dims, inputs[0], output, argmax);
    },
    backward(_inputs, _output, outputGrad, inputGrads, n) {
      dims.n = n;
      maxPool2dBackward(dims, outputGrad, argmax, inputGrads[0]);
    },
  };
}

/** Max pooling on the SIMD kernels (bit-identical to the TypeScript ones), argmax kept in wasm memory. */
function maxPoolWasm(node: LayerNode<PoolFields>): LayerImpl {
  const wk = node.wasm!;
  const d = poolDims(node);
  let argmaxAt = 0;
  return {
    reserveWasm(n) {
      argmaxAt = wk.alloc(n * node.outSize);
    },
    forward(inputs, output, n) {
      wk.x.maxPoolForward(n * d.c, d.inH, d.inW, d.kH, d.kW, d.stride, d.pad, d.outH, d.outW, inputs[0].byteOffset, output.byteOffset, argmaxAt);
    },
    backward(_inputs, _output, outputGrad, inputGrads, n) {
      const inputGrad = inputGrads[0];
      if (inputGrad) wk.x.maxPoolBackward(n * node.outSize, n * node.inSizes[0], outputGrad.byteOffset, argmaxAt, inputGrad.byteOffset);
    },
  };
}

export const poolLayer = defineLayer<PoolFields>({
  type: 'pool',
  parse(r) {
    const kernelW = r.int('sx', 1);
    return { kernelW, kernelH: r.int('sy', 1, kernelW), stride: r.int('stride', 1, 2), pad: r.int('pad', 0, 0) };
  },
  outShape(c, [prev], fail) {
    const [h, w] = windowShape(c, prev, fail);
    if (c.pad >= Math.min(c.kernelH, c.kernelW)) fail('pad', `(${c.pad}) must be smaller than the pooling window`);
    return [prev[0], h, w];
  },
  describe: (c) => `max pool ${c.kernelW}x${c.kernelH}, stride ${c.stride}${c.pad ? `, pad ${c.pad}` : ''}`,
  hints: { negative: 'if-inputs-can', explain: 'pool' },
  fromConvNetJS: (l, num) => ({ type: 'pool', sx: num('sx'), sy: num('sy'), stride: num('stride'), pad: num('pad', 0) }),
  create: (node) => (node.wasm ? maxPoolWasm(node) : maxPoolJs(node)),
});
