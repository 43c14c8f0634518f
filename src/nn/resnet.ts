/**
 * The CIFAR ResNets of He et al. 2016, section 4.2, as graph specs (layer_defs with names and inputs):
 * a 3x3 conv with 16 filters, then three stages of `n` basic blocks with 16, 32 and 64 channels (the
 * first block of stages 2 and 3 halves the size with stride 2), global average pooling and fc 64 -> 10
 * (implied by the softmax). Every conv is followed by batch norm and has no bias; where a block changes
 * the shape, its shortcut is a 1x1 conv with stride 2 and batch norm (projection, option B), elsewhere
 * the identity. 6n + 2 layers with weights: n = 1 is ResNet-8 (78,042 parameters), n = 3 ResNet-20
 * (272,474), the same networks as ../shared/anchors/pytorch/resnet.py.
 *
 *   basic block:   x -> conv3x3 -> bn -> relu -> conv3x3 -> bn -> (+ shortcut(x)) -> relu
 */

type Def = Record<string, unknown>;

function convBn(name: string, input: string, filters: number, k: number, stride: number): Def[] {
  return [
    { type: 'conv', name: `${name}-conv`, inputs: [input], sx: k, filters, stride, pad: (k - 1) / 2, bias: false },
    { type: 'batchnorm', name: `${name}-bn` },
  ];
}

/** Layer definitions of ResNet-(6n+2) for 32x32x3 images and `classes` classes. */
export function resnetLayerDefs(n: number, classes = 10): Def[] {
  const defs: Def[] = [{ type: 'input', name: 'image', out_sx: 32, out_sy: 32, out_depth: 3 }];
  defs.push(...convBn('stem', 'image', 16, 3, 1), { type: 'relu', name: 'stem' });
  let x = 'stem';
  let channels = 16;
  [16, 32, 64].forEach((width, s) => {
    for (let b = 0; b < n; b++) {
      const stride = s > 0 && b === 0 ? 2 : 1;
      const block = `s${s + 1}b${b + 1}`;
      defs.push(...convBn(`${block}-1`, x, width, 3, stride), { type: 'relu', name: `${block}-1-relu` });
      defs.push(...convBn(`${block}-2`, `${block}-1-relu`, width, 3, 1));
      let shortcut = x;
      if (stride !== 1 || channels !== width) {
        defs.push(...convBn(`${block}-proj`, x, width, 1, stride));
        shortcut = `${block}-proj-bn`;
      }
      defs.push({ type: 'add', name: `${block}-add`, inputs: [`${block}-2-bn`, shortcut] }, { type: 'relu', name: block });
      x = block;
      channels = width;
    }
  });
  defs.push({ type: 'gap', name: 'gap', inputs: [x] }, { type: 'softmax', num_classes: classes });
  return defs;
}
