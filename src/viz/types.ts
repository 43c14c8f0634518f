/**
 * What the network hands the visualiser for one layer after a probe pass
 * (one forward and backward pass of P probe images, loss against their true labels).
 * All arrays are batch first, NCHW, float32. The viz code never touches the network itself.
 */
export interface LayerProbe {
  /** Position in the network, 0 = input layer. */
  index: number;
  /** Layer type (a key of the layer registry, src/nn/layers/registry.ts), e.g. input, conv, pool, fc, relu, softmax. */
  type: string;
  /** Unique name of the layer in the network (default: its picture folder name, e.g. "01-conv"). */
  name: string;
  /** Indices of the layers whose outputs it reads (empty for the input layer). */
  inputs: number[];
  /** The layer type's short name for its kind of words (LayerHints.explain). */
  explain: string;
  /** Its fields as parsed (kernel sizes, stride, mode...): its words read them. */
  config?: Record<string, unknown>;
  /** Its role in the graph (LayerHints.role): what the walkthroughs and the questions look for. */
  role?: string;
  /** A loss layer (the last one); `outputsProbabilities` when its outputs are class probabilities (softmax). */
  isLoss: boolean;
  outputsProbabilities: boolean;
  /** How `weights` are drawn: conv filters, or fc units laid out in their input's shape. */
  weightLayout?: 'filters' | 'units';
  /** Its output is the sum of its inputs (the layer type's `sumsInputs` hint): drawn with its branches (branches.png). */
  sumsInputs?: boolean;
  /** Short human description, e.g. "conv 5x5, 16 filters, stride 1, pad 2". */
  description: string;
  /** Output shape of one sample: [channels, height, width]. fc outputs are [units, 1, 1]. */
  outShape: [number, number, number];
  /** Number of trainable parameters (weights + biases). */
  paramCount: number;
  /**
   * True when the layer's outputs can never be negative (relu, pool/maxout/dropout of non-negative
   * input, sigmoid, softmax probabilities): shown on a sequential map from zero. Otherwise diverging.
   */
  activationsNonNegative: boolean;
  /** (P, C, H, W): the layer's output for each probe image. For the input layer, the preprocessed image. */
  activations: Float32Array;
  /** (P, C, H, W): d(loss)/d(activations), loss = summed loss of the probe batch against true labels. */
  activationGrads: Float32Array;
  /**
   * Filters, for layers with weights. conv: shape [outC, inC, kH, kW]. fc: shape [outUnits, inC, inH, inW]
   * (each output unit's weights laid out in its input's shape).
   */
  weights?: { data: Float32Array; shape: [number, number, number, number] };
  /** d(loss)/d(weights) from the probe pass, same shape as weights.data. */
  weightGrads?: Float32Array;
  /** Window geometry of layers that slide a window (conv, pool): for pool winners and receptive fields. */
  window?: { kernelH: number; kernelW: number; stride: number; pad: number; max?: boolean };
  /** Biases and their gradients (for stats only). */
  biases?: Float32Array;
  biasGrads?: Float32Array;
  /** Per-channel parameters other than weights and biases (batch norm's gamma and beta), with their gradients. */
  channelParams?: { name: string; values: Float32Array; grads: Float32Array }[];
  /** The tensors its type draws as per-channel bars (LayerHints.channelBars), in order. */
  channelBars?: { name: string; reference?: number }[];
  /** Non-trainable state (batch norm's runningMean and runningVar). */
  state?: { name: string; values: Float32Array }[];
}

/** One probe pass over the whole network. */
export interface ProbeResult {
  /** Indices of the probe images in the test split. */
  probeIndices: number[];
  /** True labels of the probe images. */
  labels: number[];
  /** (P, classes) class probabilities from the final layer (softmax), or raw scores for svm/regression. */
  probabilities: Float32Array;
  /** Raw probe images, (P, 3, 32, 32) bytes 0..255 as stored (for showing the originals in colour). */
  images: Uint8Array;
  imageShape: [number, number, number];
  layers: LayerProbe[];
  /** Set when the probe is the user's own image (`visualize --image`) rather than test images. */
  userImage?: UserImageInfo;
}

export interface UserImageInfo {
  /** File name as given. */
  file: string;
  /** Its size before it was resized to the network input. */
  width: number;
  height: number;
  /** Where the class the loss is measured against came from: --label, or the network's own prediction. */
  labelFrom: 'option' | 'prediction';
}

/** One layer's health in an epoch (one entry of metrics.jsonl's `health.layers`). */
export interface LayerHealth {
  layer: number;
  type: string;
  /** The loss layer (the registry's `loss` hint): its outputs are probabilities or scores, left out of the activation plot. */
  isLoss?: true;
  /** Mean over the epoch's steps of ||mean gradient of the weights||. Layers with weights only. */
  gradNorm?: number;
  /** Mean over the epoch's steps of ||Δw|| / ||w||. Layers with weights only. */
  updateRatio?: number;
  /** Activation mean and standard deviation over the fixed test subset, end of epoch. */
  mean?: number;
  std?: number;
  /** ReLU layers: fraction of units zero for every image of the subset, end of epoch. */
  deadFraction?: number;
}

export interface HealthTracePoint {
  /** Fractional epoch at the end of the segment (1.0 = end of the first epoch). */
  x: number;
  gradNorm: Record<string, number>;
  updateRatio: Record<string, number>;
}

export interface EpochHealth {
  layers: LayerHealth[];
  /** Within-epoch segments: per layer (key = layer index) the segment's means. */
  trace: HealthTracePoint[];
  /** Size of the test subset the activation numbers come from. */
  subsetImages: number;
}

/** Per-epoch metrics as the trainer records them (also one line of metrics.jsonl). */
export interface EpochMetrics {
  epoch: number;
  trainLoss: number;
  trainDataLoss: number;
  trainDecayLoss: number;
  trainAccuracy: number;
  testAccuracy: number;
  testLoss: number;
  seconds: number;
  imagesPerSecond: number;
  /** Test accuracy on records 0..999 alone (when the test split has more than 1,000). */
  testAccuracyFirst1000?: number;
  /** Layer health (gradient norm, update/weight ratio, activation mean/std, dead ReLUs). */
  health?: EpochHealth;
}
