import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { decodeModel, encodeModel } from '../../src/nn/onnx/proto.js';
import { tempDir, writeCifarDir } from '../data/fixtures.js';
import { runCli } from '../helpers/cli.js';
import { expected, fixtureBytes, fixturePath } from '../nn/onnx/fixtures.js';

/** Fixture image i as a PNG (lossless, 32x32: predict's resize leaves it as it is). */
async function fixturePng(dir: string, i: number): Promise<string> {
  const chw = Buffer.from(expected.images.pixelsBase64[i], 'base64');
  const hwc = Buffer.alloc(3072);
  for (let c = 0; c < 3; c++) for (let p = 0; p < 1024; p++) hwc[p * 3 + c] = chw[c * 1024 + p];
  const file = join(dir, `test-${expected.images.indices[i]}.png`);
  await sharp(hwc, { raw: { width: 32, height: 32, channels: 3 } }).png().toFile(file);
  return file;
}

function predicted(stdout: string): number[] {
  return (JSON.parse(stdout) as { probabilities: number[] }).probabilities;
}

describe('cnnviz with ONNX models', () => {
  const dir = tempDir('cnnviz-onnx-cli-');

  it('summary, predict (PyTorch probabilities to 1e-5), export and predict on the export (identical)', async () => {
    const model = fixturePath('plain_cnn');
    const s = await runCli(['summary', '--model', model, '--json']);
    expect(s.code).toBe(0);
    expect(JSON.parse(s.stdout)).toMatchObject({ kind: 'onnx', totalParams: 6366 });

    const image = await fixturePng(dir, 2);
    const p = await runCli(['predict', '--model', model, '--image', image, '--json']);
    expect(p.code).toBe(0);
    const probs = predicted(p.stdout);
    const torch = expected.models.plain_cnn.probabilities[2];
    expect(Math.max(...probs.map((v, k) => Math.abs(v - torch[k])))).toBeLessThan(1e-5);

    const out = join(dir, 'again.onnx');
    const e = await runCli(['export', '--model', model, '--out', out]);
    expect(e.code).toBe(0);
    expect(e.stdout).toContain('output "probabilities"');
    const again = await runCli(['predict', '--model', out, '--image', image, '--json']);
    expect(predicted(again.stdout)).toEqual(probs);
  });

  it('--preprocess changes the scaling, and a malformed one is refused (exit 2)', async () => {
    const image = await fixturePng(dir, 0);
    const model = fixturePath('plain_cnn');
    const a = await runCli(['predict', '--model', model, '--image', image, '--json']);
    const b = await runCli(['predict', '--model', model, '--image', image, '--json', '--preprocess', 'mean=0.5,0.5,0.5 std=1,1,1']);
    const c = await runCli(['predict', '--model', model, '--image', image, '--json', '--preprocess', 'mean=0.4914,0.4822,0.4465 std=0.247,0.2435,0.2616']);
    expect(predicted(b.stdout)).toEqual(predicted(a.stdout));
    expect(predicted(c.stdout)).not.toEqual(predicted(a.stdout));
    const bad = await runCli(['predict', '--model', model, '--image', image, '--preprocess', 'mean=0.5 std=1']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('"mean" needs three numbers');
  });

  it('unsupported ops end with exit 2 and one message listing each op type, its count and first node, and the supported ops', async () => {
    const m = decodeModel(fixtureBytes('plain_cnn'), 'x');
    m.graph!.node![1].op_type = 'Celu';
    m.graph!.node!.find((n) => n.op_type === 'Tanh')!.op_type = 'Mish';
    const file = join(dir, 'celu.onnx');
    writeFileSync(file, encodeModel(m));
    const r = await runCli(['summary', '--model', file]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trim().split('\n');
    expect(lines[0]).toMatch(/celu\.onnx: cnnviz cannot import these 2 \(nothing was imported\):$/);
    expect(lines[1]).toBe('  Celu: 1 node, first node "/Relu" (Celu): op not supported');
    expect(lines[2]).toMatch(/^ {2}Mish: 1 node, first node ".*" \(Mish\): op not supported$/);
    expect(lines[lines.length - 1]).toMatch(/^cnnviz imports these ONNX ops: .*Conv.*Relu/);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    const cut = join(dir, 'cut.onnx');
    writeFileSync(cut, fixtureBytes('plain_cnn').subarray(0, 5000));
    const t = await runCli(['predict', '--model', cut, '--image', join(dir, 'none.png')]);
    expect(t.code).toBe(2);
    expect(t.stderr).toContain('truncated ONNX file');
  });

  it("draws the pictures of PyTorch's plain CNN on an image", async () => {
    const image = await fixturePng(dir, 1);
    const out = join(dir, 'vis');
    const r = await runCli(['visualize', '--model', fixturePath('plain_cnn'), '--out', out, '--image', image]);
    expect(r.code).toBe(0);
    const layers = readdirSync(join(out, 'epoch-000')).filter((f) => /^\d\d-/.test(f));
    expect(layers).toEqual(['00-input', '01-conv', '02-relu', '03-pool', '04-conv', '05-sigmoid', '06-pool', '07-fc', '08-tanh', '09-fc', '10-softmax']);
    for (const l of layers) expect(existsSync(join(out, 'epoch-000', l, 'activations.png')), l).toBe(true);
    expect(existsSync(join(out, 'epoch-000', '01-conv', 'weights.png'))).toBe(true);
  });

  it('train fine-tunes an imported model from its weights, with the scaling given by --preprocess', async () => {
    const data = writeCifarDir(join(dir, 'cifar'), [8, 8, 8, 8, 8], 8);
    const out = join(dir, 'finetune');
    const r = await runCli([
      'train', '--model', fixturePath('plain_cnn'), '--data', data, '--epochs', '1', '--batch-size', '8', '--workers', '1', '--viz', 'none',
      '--lr', '0', '--momentum', '0', '--l2', '0', '--preprocess', 'mean=0.4914,0.4822,0.4465 std=0.247,0.2435,0.2616', '--out', out, '--quiet',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { preprocessing: unknown };
    expect(run.preprocessing).toMatchObject({ kind: 'standardize', mean: [0.4914 * 255, 0.4822 * 255, 0.4465 * 255] });
    // With a learning rate of 0 the checkpoint holds exactly PyTorch's weights: export it and compare with the file.
    const again = join(dir, 'finetuned.onnx');
    expect((await runCli(['export', '--model', join(out, 'checkpoints', 'epoch-001.json'), '--out', again])).code).toBe(0);
    const weights = (bytes: Uint8Array) => decodeModel(bytes, 'x').graph!.initializer!.filter((t) => t.dims!.length > 1).map((t) => Buffer.from(t.raw_data!).toString('hex'));
    expect(weights(readFileSync(again))).toEqual(weights(fixtureBytes('plain_cnn')));
  });

  it("draws the pictures of PyTorch's ResNet (batch norm, residual adds) on an image", async () => {
    const image = await fixturePng(dir, 3);
    const out = join(dir, 'vis-resnet');
    const pre = expected.models.resnet_bn.preprocess;
    const r = await runCli([
      'visualize', '--model', fixturePath('resnet_bn'), '--out', out, '--image', image,
      '--preprocess', `mean=${pre.mean.join(',')} std=${pre.std.join(',')}`,
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const layers = readdirSync(join(out, 'epoch-000')).filter((f) => /^\d\d-/.test(f));
    expect(layers.length).toBe(32);
    for (const l of layers) expect(existsSync(join(out, 'epoch-000', l, 'activations.png')), l).toBe(true);
    const types = new Set(layers.map((l) => l.slice(3)));
    for (const t of ['conv', 'batchnorm', 'add', 'gap', 'fc', 'softmax']) expect(types, t).toContain(t);
  });
});
