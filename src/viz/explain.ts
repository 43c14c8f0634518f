/**
 * The words: picture titles, one-line explanations, and the longer notes used by the report.
 * Kept in one place so that pictures and the HTML page say the same thing.
 *
 * Explanations are keyed by layer kind (the *explanation key* a layer type declares: input, conv,
 * relu, pool, fc, softmax, ...) and quantity, in one table (EXPLANATIONS). A key without an entry
 * falls back to GENERIC, which never names another layer type. Measured facts (zero fractions, the
 * layer below's gradient) are filled in by explainPicture() from the numbers the caller passes, so
 * the words and the picture always agree.
 */
import type { Quantity } from './grid.js';
import { formatNumber } from './scale.js';
import type { EpochHealth } from './types.js';

export const QUANTITY_TITLES: Record<Quantity, string> = {
  activations: 'Activations',
  'activation-gradients': 'Activation gradients',
  weights: 'Weights',
  'weight-gradients': 'Weight gradients',
};

/** What a layer kind's four pictures show, in plain words. Missing quantities use GENERIC. */
export interface LayerExplanation {
  /** One sentence: what the layer does (forward), with the formula where it helps. */
  what: string;
  /** Per quantity: what the picture shows and how to read it. */
  pictures: Partial<Record<Quantity, string>>;
  /** Quantities this kind draws no picture for, with the reason shown instead. */
  noPicture?: Partial<Record<Quantity, string>>;
}

export const GENERIC: LayerExplanation = {
  what: '',
  pictures: {
    activations: "This layer's output for each probe image: one row per image, one tile per output channel.",
    'activation-gradients':
      "d(loss)/d(this layer's output) for the same images: how the loss would change if that output value went up. Red = raising it would raise the loss, blue = lower it, white = no effect.",
    weights: "The layer's learned parameters: one row per filter or unit, one tile per input channel it reads.",
    'weight-gradients':
      'd(loss)/d(weights) from the probe images: the direction that would increase the loss. The update moves the weights the opposite way: w \u2190 w \u2212 learning rate \u00d7 gradient.',
  },
};

const SOFTMAX_NO_GRAD =
  'No activation-gradient picture here, on purpose: softmax and the cross-entropy loss are computed as one step, whose gradient d(loss)/d(scores) = p \u2212 one-hot(true class) appears on the previous (fc) layer\u2019s activation-gradient picture: blue at the true class (p \u2212 1 < 0), red at every other class by its probability p. The gradient of the loss with respect to the probabilities themselves is never used by backpropagation.';

/** The table: explanation key -> words. */
export const EXPLANATIONS: Record<string, LayerExplanation> = {
  input: {
    what: 'The input layer does no computation and has no weights: its output ("activation") is the image itself, after preprocessing.',
    pictures: {
      activations:
        'The input layer\u2019s "activation" is just the probe image, one row per image. It is drawn as stored (bytes 0..255) so you can recognise it; the network receives the preprocessed numbers (their range is printed on the picture).',
      'activation-gradients':
        'Not a second copy of the image: d(loss)/d(pixel), a saliency map. Middle tile: the gradient of each pixel\u2019s red, green and blue value (grey = 0, each channel shown as 0.5 + g/(2s)); right tile: its size, max over RGB of |g| (black = 0). Bright pixels are the ones whose change would move the loss most, i.e. what the network is looking at for this decision.',
    },
  },
  conv: {
    what: 'Convolution: slides each filter over its input; out[k, y, x] = b[k] + \u03a3 w[k] \u00b7 (input patch at y, x). One output map per filter.',
    pictures: {
      activations:
        'Tile k is the map of filter k (tile k in the weights picture): red where the input patch looks like the filter, blue where it looks like its negative (values are not clipped yet: the ReLU comes next).',
      'activation-gradients':
        'd(loss)/d(conv output). It comes down from the ReLU above, which passes the gradient only where it fired (input > 0) and zeroes it elsewhere: so this picture has the ReLU\u2019s on/off pattern (compare with the ReLU activations), and it is sparse when a max pool sits above the ReLU.',
      weights:
        'The filters. Filter k produces map k of the activations. First layer: one colour tile per filter (its red, green and blue kernels together); trained filters become edge, colour and blob detectors. Deeper layers: one row per filter, one tile per input channel it reads. A grouped conv (summary says "N groups") splits the channels into N groups, and each filter reads only its own group\u2019s input channels (fewer tiles per row); a depthwise conv (MobileNet) has one group per input channel: each filter reads ONE input channel (one tile per row), so map k is input channel k filtered on its own, and mixing channels is left to the 1x1 conv after it.',
      'weight-gradients':
        'd(loss)/d(filter weights): for each filter, \u03a3 over images and positions of (input patch) \u00d7 (activation gradient at that position), so it looks like the input patterns where the gradient was large. The update is w \u2190 w \u2212 learning rate \u00d7 this. It should shrink as the loss falls; a picture of pure noise or of all zeros is a warning sign.',
    },
  },
  relu: {
    what: 'ReLU: out = max(0, x) for every value. Backward: d(loss)/d(x) = d(loss)/d(out) where x > 0, and 0 where the unit did not fire.',
    pictures: {
      activations:
        'Black = 0 (the unit is off: its input was negative), coloured where it fired. The fraction of exact zeros is printed below.',
      'activation-gradients':
        'd(loss)/d(ReLU output): the gradient arriving from the layer above. Under a max pool it is non-zero only at the winner of each pool window (the pool sends the gradient nowhere else), so most of it is exactly zero: with 2\u00d72 windows about 3 of every 4 values (printed below). In its own backward pass the ReLU then multiplies this by its mask (1 where it fired, 0 elsewhere) and hands the result to the conv below: the conv\u2019s activation gradient is zero wherever this ReLU\u2019s activation is black.',
    },
  },
  leakyrelu: {
    what: 'Leaky ReLU: out = x for x > 0, \u03b1x otherwise (\u03b1 small). Backward: the gradient passes unchanged where x > 0 and scaled by \u03b1 elsewhere, so, unlike ReLU, it is never cut to zero.',
    pictures: {
      activations: 'Red where the unit fired (x > 0); faint blue (\u03b1x) where its input was negative.',
      'activation-gradients':
        'd(loss)/d(output): the gradient arriving from the layer above (sparse under a max pool: only window winners receive any). The layer below receives it multiplied by 1 where x > 0 and by \u03b1 elsewhere.',
    },
  },
  sigmoid: {
    what: 'Sigmoid: out = 1/(1 + e^\u2212x), squashing every value into (0, 1). Backward multiplies the gradient by out\u00b7(1 \u2212 out), at most 0.25 and near 0 when the unit saturates.',
    pictures: {
      activations: 'Values in (0, 1): near 0 or near 1 means saturated, where almost no gradient gets through.',
      'activation-gradients': 'd(loss)/d(output). The layer below receives it times out\u00b7(1 \u2212 out): small wherever this picture\u2019s activations are near 0 or 1.',
    },
  },
  tanh: {
    what: 'Tanh: out = tanh(x), squashing every value into (\u22121, 1). Backward multiplies the gradient by 1 \u2212 out\u00b2, near 0 when the unit saturates.',
    pictures: {
      activations: 'Values in (\u22121, 1): near \u00b11 means saturated, where little gradient gets through.',
      'activation-gradients': 'd(loss)/d(output). The layer below receives it times 1 \u2212 out\u00b2.',
    },
  },
  pool: {
    what: 'Max pooling: each output is the largest value of a small window of its input (2\u00d72, stride 2 halves width and height). No weights. Backward: each output\u2019s gradient goes only to the input position that won its window; the other positions get exactly 0.',
    pictures: {
      activations: 'The maxima of each window: a smaller, coarser copy of the maps below, keeping the strongest responses.',
      'activation-gradients':
        'd(loss)/d(pool output). This one is dense: every pooled value feeds the next layer, so every one gets a gradient. The sparse picture is one layer down: in the backward pass the pool routes each of these values to the single winning position of its window and gives the other positions 0, so the layer below (usually a ReLU) receives a gradient that is mostly zeros (for 2\u00d72 windows at least 3 of 4). The zero fraction of both is printed below; the walkthrough picture of this epoch shows the winners.',
    },
  },
  avgpool: {
    what: 'Average pooling: each output is the mean of a window. Backward: each output\u2019s gradient is shared equally by every position of its window (so, unlike max pooling, the gradient below is not sparse).',
    pictures: {
      activations: 'The mean of each window: a smoothed, smaller copy of the maps below.',
      'activation-gradients': 'd(loss)/d(pool output). The layer below receives it spread evenly over each window.',
    },
  },
  mul: {
    what: 'Element-wise product of two inputs: out = x \u00b7 gate. When the gate is one number per channel (C\u00d71\u00d71: a squeeze-and-excitation block, MobileNet v3, EfficientNet, RegNetY) it scales each whole channel of x, so the network can turn channels up or down for this image. Backward: x receives dy \u00b7 gate; the gate receives dy \u00b7 x summed over the positions it scaled.',
    pictures: {
      activations: 'Tile k is channel k of x after scaling: compare with x\u2019s own picture (the layer below) to see which channels the gate turned down (fainter) for this image.',
      'activation-gradients': 'd(loss)/d(product). x receives it multiplied by the gate (small where the gate closed a channel), the gate receives it multiplied by x.',
    },
  },
  clip: {
    what: 'Clip: out = min(max(x, min), max). ReLU6 (MobileNet v2) is clip to 0..6: a ReLU that also stops growing at 6. Backward: the gradient passes where min < x < max and is cut to zero where the value was clipped.',
    pictures: {
      activations: 'Values between the bounds; a tile flat at the top of the scale is a channel that saturated at max (no gradient passes there).',
      'activation-gradients': 'd(loss)/d(output). The layer below receives it only where the input was strictly between the bounds.',
    },
  },
  hardsigmoid: {
    what: 'Hard sigmoid: out = max(0, min(1, \u03b1x + \u03b2)), a piecewise-linear sigmoid (MobileNet v3\u2019s gates use \u03b1 = 1/6, \u03b2 = 1/2). Backward: \u03b1 \u00b7 dy on the slope, zero where it is flat at 0 or 1.',
    pictures: {
      activations: 'Values in 0..1 (never negative): 1 = gate fully open, 0 = closed.',
    },
  },
  hardswish: {
    what: 'Hard swish (MobileNet v3): out = x \u00b7 relu6(x + 3) / 6. Zero below \u22123, x above 3, a smooth-looking curve between that dips slightly below zero (to \u22120.375 at x = \u22121.5). Backward: dy \u00b7 (2x + 3)/6 between \u22123 and 3, dy above 3, 0 below \u22123.',
    pictures: {
      activations: 'Mostly like a ReLU\u2019s picture, with faint blue where inputs were slightly negative (the small dip).',
    },
  },
  silu: {
    what: 'SiLU (swish, EfficientNet): out = x \u00b7 sigmoid(x). Like a ReLU for large |x|, but smooth, and slightly negative (down to about \u22120.28) for negative inputs. Backward: dy \u00b7 (s + x s (1 \u2212 s)) with s = sigmoid(x).',
    pictures: {
      activations: 'Red where the input was positive; faint blue for small negative inputs (large negative ones go to 0).',
    },
  },
  gelu: {
    what: 'GELU (ConvNeXt, transformers): out = x \u00b7 \u03a6(x), x times the probability that a standard normal variable is below x (computed exactly, with erf). Close to ReLU away from 0, smooth near it, slightly negative (down to about \u22120.17) for negative inputs.',
    pictures: {
      activations: 'Red where the input was positive; faint blue for small negative inputs.',
    },
  },
  elu: {
    what: 'ELU: out = x for x > 0, \u03b1(e^x \u2212 1) otherwise, which flattens out at \u2212\u03b1 for very negative x. Backward: dy for x > 0, dy \u00b7 \u03b1e^x otherwise (never exactly zero, so units cannot die).',
    pictures: {
      activations: 'Red where the input was positive; blue down to \u2212\u03b1 where it was negative.',
    },
  },
  softplus: {
    what: 'Softplus: out = log(1 + e^x), a smooth ReLU that is always positive. Backward: dy \u00b7 sigmoid(x).',
    pictures: {
      activations: 'Always positive: white-to-red (about 0.69 where the input was 0).',
    },
  },
  prelu: {
    what: 'PReLU: out = x for x > 0, a \u00b7 x otherwise, with the slope a LEARNED per channel (it starts at 0.25). A leaky ReLU whose leak the network chooses. Backward: dy for x > 0, a \u00b7 dy otherwise; the slope\u2019s gradient is \u03a3 dy \u00b7 x over the negative inputs.',
    pictures: {
      activations: 'Red where the input was positive; blue (a \u00b7 x) where negative, fainter for channels whose slope is small.',
      weights: 'The learned slopes, one per channel: 0 = a ReLU, 1 = no activation at all, negative = the channel flips negative inputs.',
      'weight-gradients': 'd(loss)/d(slope): \u03a3 over images and negative positions of dy \u00b7 x.',
    },
  },
  shuffle: {
    what: 'Channel shuffle (ShuffleNet): no arithmetic, only a new order of the channels. They are seen as g groups; the output takes the first channel of every group, then the second of every group, and so on, so that the next grouped convolution mixes channels that came from different groups. Backward: each gradient map goes back to the channel it came from.',
    pictures: {
      activations: 'The same maps as the layer below, in the shuffled order: tile j\u00b7g + i is input channel i\u00b7C/g + j.',
    },
  },
  slice: {
    what: 'Channel slice (ShuffleNet\u2019s channel split): passes on a range of its input\u2019s channels unchanged. ShuffleNet sends one half through a small block and the other half around it, then joins them (concat). Backward: the gradient goes back to those channels; the others get none from here.',
    pictures: {
      activations: 'Exactly the chosen channels of the layer below (its tiles from \u201cfrom\u201d on).',
    },
  },
  gap: {
    what: 'Global average pooling: the mean of each channel over all positions, one number per channel. Backward: spreads each channel\u2019s gradient evenly over its positions.',
    pictures: {
      activations: 'One value per channel per image: the average of that channel\u2019s map.',
      'activation-gradients': 'd(loss)/d(channel mean): the layer below receives this divided evenly among the map\u2019s positions.',
    },
  },
  fc: {
    what: 'Fully connected: every output unit is a weighted sum of all input values plus a bias, out[k] = b[k] + \u03a3 w[k, i] x[i]. Before a softmax these outputs are the class scores.',
    pictures: {
      activations: 'One cell per unit and image, its value printed. When the next layer is a softmax these are the raw class scores (logits): the largest score is the prediction.',
      'activation-gradients':
        'd(loss)/d(unit output). When the next layer is the softmax these are d(loss)/d(score) = p \u2212 one-hot: p \u2212 1 at the true class (blue) and p at every other class (red, as large as the wrongly given probability). A confident correct image has an almost white row.',
      weights:
        'Row k: the weights of unit k laid out in the shape of its input (one tile per input channel), so you can see which input positions and channels push its score up (red) or down (blue).',
      'weight-gradients':
        'd(loss)/d(weights) = \u03a3 over images of (unit\u2019s output gradient) \u00d7 (input values): each row is the input pattern weighted by how much that unit\u2019s output should change.',
    },
  },
  dropout: {
    what: 'Dropout: during training sets each value to 0 with probability p (and scales the rest); in the probe pass (test mode) it passes every value through unchanged.',
    pictures: {
      activations: 'In test mode identical to the layer below\u2019s output.',
      'activation-gradients': 'd(loss)/d(output); in test mode passed unchanged to the layer below.',
    },
  },
  lrn: {
    what: 'Local response normalisation: divides each value by a power of the summed squares of neighbouring channels at the same position.',
    pictures: {
      activations: 'The normalised maps: strong responses next to strong neighbours are damped.',
      'activation-gradients': 'd(loss)/d(output), passed down through the normalisation.',
    },
  },
  maxout: {
    what: 'Maxout: each output is the largest of a group of input channels. Backward: the gradient goes only to the winning channel of each group (like max pooling across channels).',
    pictures: {
      activations: 'The winner of each channel group at every position.',
      'activation-gradients': 'd(loss)/d(output). The layer below receives it only in the channel that won, 0 in the others.',
    },
  },
  batchnorm: {
    what: 'Batch normalisation: per channel, subtracts the mean and divides by the standard deviation (of the batch in training, of running averages at test time), then scales by \u03b3 and shifts by \u03b2.',
    pictures: {
      activations: 'Normalised maps: each channel is roughly zero-mean with unit spread before \u03b3 and \u03b2.',
      'activation-gradients': 'd(loss)/d(output), passed down through the normalisation.',
    },
  },
  add: {
    what: 'Add (residual connection): the sum of its inputs, value by value. Backward: every input receives the same gradient, unchanged.',
    pictures: {
      activations: 'The elementwise sum of the input maps.',
      'activation-gradients': 'd(loss)/d(sum): copied unchanged to every input branch (the \u201cgradient highway\u201d of residual networks).',
    },
  },
  concat: {
    what: 'Concat: stacks its inputs\u2019 channels one after another. Backward: each input receives the slice of the gradient for its own channels.',
    pictures: {
      activations: 'The input maps side by side, channel after channel.',
      'activation-gradients': 'd(loss)/d(output): split by channel and returned to the inputs the channels came from.',
    },
  },
  softmax: {
    what: 'Softmax: turns the class scores s into probabilities p[k] = e^s[k] / \u03a3 e^s[j] that sum to 1. The loss is \u2212log p[true class] (cross-entropy).',
    pictures: {
      activations: 'The class probabilities for each probe image (values printed). The brightest cell is the prediction.',
    },
    noPicture: { 'activation-gradients': SOFTMAX_NO_GRAD },
  },
  svm: {
    what: 'SVM loss layer: passes the class scores through unchanged; the loss is the multiclass hinge loss \u03a3 max(0, s[j] \u2212 s[true] + 1).',
    pictures: {
      activations: 'The class scores, unchanged.',
    },
    noPicture: {
      'activation-gradients':
        'No activation-gradient picture here: the hinge loss is computed from this layer\u2019s input, so its gradient (+1 for each class within the margin, minus their count at the true class) appears on the previous layer\u2019s activation-gradient picture.',
    },
  },
  regression: {
    what: 'Regression loss layer: passes values through; the loss is \u00bd \u03a3 (out \u2212 target)\u00b2.',
    pictures: {
      activations: 'The predicted values, unchanged.',
    },
    noPicture: {
      'activation-gradients':
        'No activation-gradient picture here: the loss gradient (out \u2212 target) appears on the previous layer\u2019s activation-gradient picture.',
    },
  },
};

/** The explanation key of a layer type (graph's registry may declare its own; the type name is the default). */
export function explanationKey(type: string, hint?: string): string {
  if (hint && EXPLANATIONS[hint]) return hint;
  return type.toLowerCase();
}

/**
 * The explanation key of a probed layer: its registry key, except that a pool in average mode (its
 * window is not a max) reads the avgpool words (no winners, no sparse gradient).
 */
export function layerKind(l: { type: string; explain?: string; window?: { max?: boolean } }): string {
  const key = explanationKey(l.type, l.explain);
  return key === 'pool' && l.window?.max === false ? 'avgpool' : key;
}

export function layerExplanation(key: string): LayerExplanation {
  return EXPLANATIONS[key] ?? GENERIC;
}

/** Whether a layer kind draws a picture of the quantity (loss layers skip their activation gradient). */
export function skipsPicture(key: string, q: Quantity): string | undefined {
  return layerExplanation(key).noPicture?.[q];
}

/** Facts measured on this epoch's pictures, woven into the explanation. */
export interface PictureFacts {
  /** Fraction of exactly-zero values in this picture's data. */
  zeroFraction?: number;
  /** The next layer's kind and index (e.g. the pool above a ReLU). */
  next?: { key: string; index: number; actGradZeroFraction?: number };
  /** The previous layer's kind and index, with the zero fraction of its activation gradient. */
  prev?: { key: string; index: number; actGradZeroFraction?: number; actZeroFraction?: number };
}

export function pct(f: number): string {
  const p = 100 * f;
  if (p > 0 && p < 0.1) return '<0.1%';
  return `${p.toFixed(1)}%`;
}

/** The report's explanation of one picture: layer-specific words plus the measured facts. */
export function explainPicture(key: string, q: Quantity, facts: PictureFacts = {}): string {
  const e = layerExplanation(key);
  let text = e.pictures[q] ?? GENERIC.pictures[q] ?? '';
  const z = facts.zeroFraction;
  const extra: string[] = [];
  if (q === 'activations' && (key === 'relu' || key === 'pool') && z !== undefined) {
    extra.push(`Here ${pct(z)} of the values are exactly 0 (black).`);
  }
  if (q === 'activation-gradients' && z !== undefined) {
    extra.push(`Measured: ${pct(z)} of this picture\u2019s values are exactly 0.`);
    if (key === 'pool' && facts.prev?.actGradZeroFraction !== undefined) {
      extra.push(`The layer below (layer ${facts.prev.index}, ${facts.prev.key}) receives a gradient that is ${pct(facts.prev.actGradZeroFraction)} zeros.`);
    }
    if (key === 'relu' && facts.next?.key === 'pool') {
      extra.push(`That is the max pool above (layer ${facts.next.index}) at work: only window winners receive gradient.`);
    }
    if (key === 'conv' && facts.next && facts.next.key === 'relu' && facts.next.actGradZeroFraction !== undefined) {
      extra.push(
        `The ReLU above (layer ${facts.next.index}) received a gradient that is already ${pct(facts.next.actGradZeroFraction)} zeros; its mask adds zeros wherever it did not fire, which gives the ${pct(z)} here.`,
      );
    }
  }
  if (q === 'activation-gradients' && key === 'fc' && facts.next && facts.next.key !== 'softmax') {
    // Only the final fc gets the p - one-hot words.
    text = GENERIC.pictures[q] ?? '';
  }
  if (q === 'activations' && key === 'fc' && facts.next && facts.next.key !== 'softmax' && facts.next.key !== 'svm') {
    text = 'One cell per unit and image: the weighted sum of all inputs plus the bias, before any nonlinearity.';
  }
  return [text, ...extra].join(' ');
}

/** A short layer-specific note printed inside a picture (the report has the long words). */
export function pictureNote(key: string, q: Quantity): string {
  if (q !== 'activation-gradients') return '';
  switch (key) {
    case 'pool':
      return 'Max pool: this gradient is dense (every pooled value feeds the next layer). Going backward, the pool passes each value only to the winner (the max) of its window and 0 to the other positions, so the layer below receives a sparse gradient.';
    case 'relu':
      return 'ReLU: this gradient arrives from the layer above; under a max pool only window winners get any, so most values are exactly 0. The ReLU passes it on only where it fired (output > 0).';
    default:
      return '';
  }
}

/** One line under the title of a picture (inside the PNG). */
export function quantityLine(q: Quantity, isInput: boolean, firstLayerColour: boolean): string {
  switch (q) {
    case 'activations':
      return isInput
        ? 'Activations: the input layer outputs the probe images themselves (one row per image).'
        : "Activations: this layer's output for each probe image (one row per image, one tile per output channel).";
    case 'activation-gradients':
      return isInput
        ? 'Activation gradients d(loss)/d(input pixels), a saliency map: how the loss on these images would change if each pixel changed. Not a copy of the image.'
        : "Activation gradients d(loss)/d(output): how the loss on the probe images would change if each of this layer's output values increased.";
    case 'weights':
      return firstLayerColour
        ? 'Weights: the filters, one colour tile per filter (its red, green and blue kernels together), numbered.'
        : 'Weights: one row per filter or unit, one tile per input channel it reads.';
    case 'weight-gradients':
      return firstLayerColour
        ? 'Weight gradients d(loss)/d(weights), one colour tile per filter (numbered as in the weights): an update moves the weights the opposite way.'
        : 'Weight gradients d(loss)/d(weights) from the probe images: an update moves the weights the opposite way (w -= learning rate x gradient).';
  }
}

/** The colour legend sentence for a map kind. */
export function colourNote(kind: 'diverging' | 'sequential' | 'signed-rgb' | 'image' | 'mixed'): string {
  switch (kind) {
    case 'sequential':
      return 'Colours: black = 0, brighter = larger (these values are never negative, so the map starts at zero).';
    case 'diverging':
      return 'Colours: blue = negative, near-white = 0, red = positive; the range is symmetric so white is exactly zero.';
    case 'signed-rgb':
      return 'Colours: each RGB channel shows its own value as 0.5 + v/(2s): grey = 0 in all channels; a reddish pixel means the red channel is positive there.';
    case 'image':
      return 'Colours: the probe images as stored (bytes 0..255).';
    case 'mixed':
      return 'Left: the image. Middle: the gradient, each RGB channel as 0.5 + g/(2s) (grey = 0). Right: its size max over RGB of |g| (black = 0).';
  }
}

/** Short explanations for the report's "how to read" section, per quantity (any layer). */
export const REPORT_EXPLANATIONS: Record<Quantity, string> = {
  activations:
    "What the layer outputs for each probe image: one row per image, one tile per output channel (feature map). The input layer's output is the image itself.",
  'activation-gradients':
    "d(loss)/d(this layer's output) for the same images: how the loss would change if that output value went up. Red = increasing it would raise the loss, blue = lower it, white (exactly the middle colour) = no effect. Backpropagation computes these from the last layer down; each layer's picture explains what its own backward pass does to them.",
  weights:
    'The filters the layer has learned. First conv layer: one colour tile per filter, numbered. Deeper layers: one row per filter, one tile per input channel. Fully connected layers: each unit\u2019s weights laid out in the shape of its input.',
  'weight-gradients':
    'd(loss)/d(weights) from the probe images: the direction that would increase the loss. The update moves the weights the opposite way, scaled by the learning rate.',
};

/** One sentence about what a layer type does, for the report. */
export function layerTypeNote(type: string, hint?: string): string {
  return layerExplanation(explanationKey(type, hint)).what;
}

/** The layer-health plots and how to read them (report, "Layer health over training"). */
export const HEALTH_EXPLANATIONS: { plot: string; title: string; what: string; healthy: string; problem: string }[] = [
  {
    plot: 'health-gradient-norm',
    title: 'Gradient norm',
    what: 'The size (L2 norm) of the mini-batch mean gradient of each layer\u2019s weights: how hard the loss is pushing on that layer.',
    healthy: 'roughly steady or slowly falling as the loss falls, and of a similar order of magnitude in every layer.',
    problem: 'early layers orders of magnitude below the last ones, or falling towards 0 (vanishing gradients: those layers stop learning); norms growing by orders of magnitude (exploding: the loss is about to become NaN).',
  },
  {
    plot: 'health-update-ratio',
    title: 'Update-to-weight ratio',
    what: '||\u0394w|| / ||w|| for each step: how much one update changes the layer\u2019s weights, relative to their size.',
    healthy: 'about 1e-3 (the dashed line): each step changes the weights by about a thousandth.',
    problem: 'well above 1e-2 (the learning rate is too high: the weights thrash and the loss jumps around or explodes); well below 1e-4 (too low: learning crawls).',
  },
  {
    plot: 'health-dead-relu',
    title: 'Dead ReLUs',
    what: 'The fraction of each ReLU layer\u2019s units (a channel at one position) that output 0 for every one of the fixed test images: they receive no gradient, so they cannot learn.',
    healthy: 'near 0, at most a few percent.',
    problem: 'a large or growing fraction, typically after too high a learning rate knocked the biases far negative; dead units rarely come back.',
  },
  {
    plot: 'health-activations',
    title: 'Activation mean and standard deviation',
    what: 'The mean (dashed) and standard deviation (solid) of each layer\u2019s outputs over the fixed test images.',
    healthy: 'standard deviations of a similar size from layer to layer and epoch to epoch (here about 0.1 to a few); ReLU and pool means positive, conv means near 0.',
    problem: 'standard deviations shrinking towards 0 layer after layer (the signal dies out and so do the gradients) or growing by orders of magnitude (saturation, explosion).',
  },
];

/** The latest epoch's health numbers per layer, formatted, with a one-phrase reading. */
export function healthVerdicts(h: EpochHealth): { layer: string; gradNorm: string; updateRatio: string; mean: string; std: string; dead: string; verdict: string }[] {
  const f = (v: number | undefined): string => (v === undefined ? '' : formatNumber(v));
  return h.layers.map((l) => {
    const notes: string[] = [];
    if (l.updateRatio !== undefined) {
      if (l.updateRatio > 1e-2) notes.push('updates large (learning rate high?)');
      else if (l.updateRatio < 1e-4) notes.push('updates tiny (learning rate low?)');
      else notes.push('update size healthy');
    }
    if (l.gradNorm !== undefined && l.gradNorm < 1e-6) notes.push('gradient vanishing');
    if (l.deadFraction !== undefined) notes.push(l.deadFraction > 0.2 ? `${pct(l.deadFraction)} dead: many units never fire` : 'few dead units');
    if (l.std !== undefined && l.std < 1e-3) notes.push('activations nearly constant');
    return {
      layer: `${l.layer} ${l.type}`, gradNorm: f(l.gradNorm), updateRatio: f(l.updateRatio), mean: f(l.mean), std: f(l.std),
      dead: l.deadFraction === undefined ? '' : pct(l.deadFraction), verdict: notes.join('; '),
    };
  });
}

/** One sentence per explanation key (what the layer does), as the registry's hints.explain names it. */
export const LAYER_NOTES: Record<string, string> = Object.fromEntries(Object.entries(EXPLANATIONS).map(([k, e]) => [k, e.what]));

/** The note for an explanation key ('' when there is none). */
export function layerNote(key: string): string {
  return LAYER_NOTES[key] ?? '';
}

export const COLOUR_EXPLANATION = [
  'Sequential map (black \u2192 purple \u2192 orange \u2192 yellow): for values that are never negative, such as ReLU and pooling outputs or probabilities. Zero is black, so a ReLU map is black wherever the unit is off and coloured where it fires.',
  'Diverging map (blue \u2192 white \u2192 red): for signed values: gradients, weights, and outputs that can be negative. Zero is exactly the middle (near-white) colour and the range is symmetric, \u00b1s, so the same shade of blue and red mean the same size.',
  'Colour filters and the input saliency map show each RGB channel as 0.5 + v/(2s): mid grey is zero in every channel.',
  'Every picture prints its scale: the colour bar\u2019s numbers are the values at its ends. "robust" scale (default): one scale per picture, s = the 99.5th percentile of |value| (of the value for never-negative maps), so a few outliers do not wash the picture out; the few values beyond s are drawn in the end colour and their count is printed. Zero stays where it is on every scale: the middle colour of a diverging map, black on a sequential one. "layer": s = the largest |value|. "map": each tile its own scale, printed under the tile. "run": the scale of the first epoch is kept, so epochs compare directly; values beyond it are clipped and counted in the caption.',
  'Magenta marks NaN values.',
];
