/**
 * The `speedrun` preset: a plain network built to learn CIFAR-10 quickly on two CPU cores, after the fast
 * CIFAR-10 training records (Page's ResNet-9 for DAWNBench, Keller Jordan's airbench): few layers, wide
 * ones late, where the maps are small and a channel costs little. A 3x3 conv stem with 24 filters, then
 * three blocks of
 *
 *   conv3x3 -> max pool 2x2 -> bn -> relu -> conv3x3 -> bn -> relu
 *
 * with 32, 128 and 128 channels (32x32 -> 16x16 -> 8x8 -> 4x4), global average pooling and fc 128 -> 10.
 * Every conv is followed by batch norm and has no bias; pooling before batch norm halves the normalised
 * values. About 40 million multiply-adds per image, as many as ResNet-20, but in 7 convs rather than 21,
 * with more channels where the image is small: faster to train here, and more accurate for a short run
 * (see src/train/recipes.ts and the README's 30-minute table).
 */

type Def = Record<string, unknown>;

/** Channels of the stem and of the three blocks. */
export const SPEEDRUN_WIDTHS = { stem: 24, blocks: [32, 128, 128] } as const;

function convBnRelu(name: string, input: string, filters: number, pool: boolean): Def[] {
  return [
    { type: 'conv', name: `${name}-conv`, inputs: [input], sx: 3, filters, stride: 1, pad: 1, bias: false },
    ...(pool ? [{ type: 'pool', name: `${name}-pool`, sx: 2, stride: 2 }] : []),
    { type: 'batchnorm', name: `${name}-bn` },
    { type: 'relu', name },
  ];
}

/** Layer definitions of the speedrun network for 32x32x3 images and `classes` classes. */
export function speedrunLayerDefs(classes = 10): Def[] {
  const defs: Def[] = [{ type: 'input', name: 'image', out_sx: 32, out_sy: 32, out_depth: 3 }];
  defs.push(...convBnRelu('stem', 'image', SPEEDRUN_WIDTHS.stem, false));
  let x = 'stem';
  SPEEDRUN_WIDTHS.blocks.forEach((width, b) => {
    defs.push(...convBnRelu(`b${b + 1}-1`, x, width, true), ...convBnRelu(`b${b + 1}-2`, `b${b + 1}-1`, width, false));
    x = `b${b + 1}-2`;
  });
  defs.push({ type: 'gap', name: 'gap', inputs: [x] }, { type: 'softmax', num_classes: classes });
  return defs;
}
