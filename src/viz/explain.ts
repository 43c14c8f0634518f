/**
 * The words: picture titles, one-line explanations, and the longer notes used by the report.
 * Kept in one place so that pictures and the HTML page say the same thing.
 */
import type { Quantity } from './grid.js';

export const QUANTITY_TITLES: Record<Quantity, string> = {
  activations: 'Activations',
  'activation-gradients': 'Activation gradients',
  weights: 'Weights',
  'weight-gradients': 'Weight gradients',
};

/** One line under the title of a picture. */
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
        ? 'Weights: the filters, one colour tile per filter (its red, green and blue kernels together).'
        : 'Weights: one row per filter or unit, one tile per input channel it reads.';
    case 'weight-gradients':
      return 'Weight gradients d(loss)/d(weights) from the probe images: an update moves the weights the opposite way (w -= learning rate x gradient).';
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

/** Short explanations for the report page, per picture kind. */
export const REPORT_EXPLANATIONS: Record<Quantity, string> = {
  activations:
    "What the layer outputs for each probe image: one row per image, one tile per output channel (feature map). For the input layer, the images themselves.",
  'activation-gradients':
    "d(loss)/d(this layer's output) for the same images: how the loss would change if that output value went up. Red = increasing it would raise the loss, blue = lower it. For the input layer this is a saliency map (which pixels matter), not a second copy of the image.",
  weights:
    'The filters the layer has learned. First conv layer: one colour tile per filter. Deeper layers: one row per filter, one tile per input channel. Fully connected layers: each unit\u2019s weights laid out in the shape of its input.',
  'weight-gradients':
    'd(loss)/d(weights) from the probe images: the direction that would increase the loss. The update moves the weights the opposite way, scaled by the learning rate.',
};

/**
 * One sentence about what a layer type does, for the report, by the explanation key its registry entry
 * declares (LayerDef.hints.explain in src/nn/layers/).
 */
export const LAYER_NOTES: Record<string, string> = {
  input: 'The images as the network receives them (after preprocessing).',
  conv: 'Convolution: slides each filter over its input and outputs one map per filter.',
  relu: 'ReLU: max(0, x) on every value, so its maps are zero (black) wherever the input was negative.',
  leakyrelu: 'Leaky ReLU: x where x is positive, a small multiple (alpha) of x where it is negative, so negative inputs still pass a little gradient.',
  pool: 'Max pooling: keeps the largest value of each small window, halving width and height.',
  fc: 'Fully connected: every output unit is a weighted sum of all inputs (for the last layer, one score per class).',
  softmax: 'Softmax: turns the class scores into probabilities that sum to 1.',
  svm: 'SVM loss layer: passes class scores through; the loss is a multiclass hinge loss.',
  regression: 'Regression loss layer: passes values through; the loss is the squared error.',
  dropout: 'Dropout: during training sets random values to zero; at test time passes values through.',
  sigmoid: 'Sigmoid: squashes every value into (0, 1).',
  tanh: 'Tanh: squashes every value into (-1, 1).',
  maxout: 'Maxout: the largest of each group of channels.',
  lrn: 'Local response normalisation: divides each value by the activity of neighbouring channels.',
};

/** The note for an explanation key ('' when there is none). */
export function layerNote(key: string): string {
  return LAYER_NOTES[key] ?? '';
}

export const COLOUR_EXPLANATION = [
  'Sequential map (black \u2192 purple \u2192 orange \u2192 yellow): for values that are never negative, such as ReLU and pooling outputs or probabilities. Zero is black, so a ReLU map is black wherever the unit is off and coloured where it fires.',
  'Diverging map (blue \u2192 white \u2192 red): for signed values: gradients, weights, and outputs that can be negative. Zero is exactly the middle (near-white) colour and the range is symmetric, \u00b1s, so the same shade of blue and red mean the same size.',
  'Colour filters and the input saliency map show each RGB channel as 0.5 + v/(2s): mid grey is zero in every channel.',
  'Every picture prints its scale: the colour bar\u2019s numbers are the values at its ends. "layer" scale (default): one scale per picture, s = the largest |value|. "map": each tile its own scale, printed under the tile. "run": the scale of the first epoch is kept, so epochs compare directly; values beyond it are clipped and counted in the caption.',
  'Magenta marks NaN values.',
];
