/**
 * The words that belong to no layer type: picture titles, the lines inside pictures, colour legends,
 * the health plots' readings. A layer's own words come from its type (LayerHints.words, in its file
 * under src/nn/layers), given its neighbours in this network and the facts measured on the probe
 * (probeWords), so that the pictures and the HTML page say the same thing.
 */
import { explainLayers } from '../nn/layers/explain.js';
import type { LayerWords } from '../nn/layers/layer.js';
import { pct } from '../nn/layers/wording.js';
import type { Quantity } from './grid.js';
import { formatNumber } from './scale.js';
import type { EpochHealth, LayerProbe } from './types.js';

export const QUANTITY_TITLES: Record<Quantity, string> = {
  activations: 'Activations',
  'activation-gradients': 'Activation gradients',
  weights: 'Weights',
  'weight-gradients': 'Weight gradients',
};

/** The words of every probed layer, from the layer types' own words and this probe's zero fractions. */
export function probeWords(layers: readonly LayerProbe[]): LayerWords[] {
  return explainLayers(
    layers.map((l) => ({
      index: l.index, type: l.type, name: l.name, config: l.config ?? {}, description: l.description, inputs: l.inputs, outShape: l.outShape,
      zeros: { activations: zeroFraction(l.activations), 'activation-gradients': zeroFraction(l.activationGrads), ...(l.weightGrads ? { 'weight-gradients': zeroFraction(l.weightGrads) } : {}) },
    })),
  );
}

function zeroFraction(a: Float32Array): number | undefined {
  if (a.length === 0) return undefined;
  let z = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === 0) z++;
  return z / a.length;
}

export { pct };

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

/**
 * Which gradient each picture and chart shows. The last training batch's weight gradient (the ConvNetJS
 * demo's picture) is not drawn: one batch of augmented images is noisy, and which batch is last depends on
 * the data order; the probe's fixed images in evaluation mode compare from epoch to epoch.
 */
export const WHICH_GRADIENT =
  'Every picture (activation gradients, weight gradients, the walkthroughs) comes from the probe pass: the same probe images every epoch, in evaluation mode (batch norm uses its running statistics, dropout keeps every value), one forward and one backward pass with the weights at the end of the epoch, the loss summed over the probe images. ' +
  'The gradient-norm and update-ratio charts under "Layer health" come from the training batches instead: training mode, augmented images, the mean gradient of each mini-batch, averaged over tenths of an epoch. The two differ in images, mode and scale, so their sizes do not compare directly. ' +
  'The last training batch’s weight gradient, which the ConvNetJS demo drew, is not drawn: one batch of augmented images is noisy and depends on the data order, while the probe’s fixed images show how the same gradient changes from epoch to epoch.';

/** Short explanations for the report's "how to read" section, per quantity (any layer). */
export const REPORT_EXPLANATIONS: Record<Quantity, string> = {
  activations:
    "What the layer outputs for each probe image: one row per image, one tile per output channel (feature map). The input layer's output is the image itself.",
  'activation-gradients':
    "d(loss)/d(this layer's output) for the same images: how the loss would change if that output value went up. Red = increasing it would raise the loss, blue = lower it, white (exactly the middle colour) = no effect. Backpropagation computes these from the last layer down; each layer's picture explains what its own backward pass does to them.",
  weights:
    'The filters the layer has learned. First conv layer: one colour tile per filter, numbered. Deeper layers: one row per filter, one tile per input channel. Fully connected layers: each unit\u2019s weights laid out in the shape of its input.',
  'weight-gradients':
    'd(loss)/d(weights) from the probe images (evaluation mode): the direction that would increase the loss on them. Training moves the weights the opposite way, scaled by the learning rate, with the gradients of its own batches.',
};

/** The layer-health plots and how to read them (report, "Layer health over training"). */
export const HEALTH_EXPLANATIONS: { plot: string; title: string; what: string; healthy: string; problem: string }[] = [
  {
    plot: 'health-gradient-norm',
    title: 'Gradient norm',
    what: 'The size (L2 norm) of the mini-batch mean gradient of each layer\u2019s weights, from the training batches (not the probe): how hard the loss is pushing on that layer.',
    healthy: 'of a similar order of magnitude in every layer, without growing or falling by orders of magnitude (it may rise early on, as the layers above start to use each layer, and fall slowly later).',
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

export const COLOUR_EXPLANATION = [
  'Sequential map (black \u2192 purple \u2192 orange \u2192 yellow): for values that are never negative, such as ReLU and pooling outputs or probabilities. Zero is black, so a ReLU map is black wherever the unit is off and coloured where it fires.',
  'Diverging map (blue \u2192 white \u2192 red): for signed values: gradients, weights, and outputs that can be negative. Zero is exactly the middle (near-white) colour and the range is symmetric, \u00b1s, so the same shade of blue and red mean the same size.',
  'Colour filters and the input saliency map show each RGB channel as 0.5 + v/(2s): mid grey is zero in every channel.',
  'Every picture prints its scale: the colour bar\u2019s numbers are the values at its ends. "robust" scale (default): one scale per picture, s = the 99.5th percentile of |value| (of the value for never-negative maps), so a few outliers do not wash the picture out; the few values beyond s are drawn in the end colour and their count is printed. Zero stays where it is on every scale: the middle colour of a diverging map, black on a sequential one. "layer": s = the largest |value|. "map": each tile its own scale, printed under the tile. "run": the scale of the first epoch is kept, so epochs compare directly; values beyond it are clipped and counted in the caption.',
  'Magenta marks NaN values.',
];
