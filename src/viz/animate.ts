/**
 * Change across epochs: an animated image per animated picture (every layer's activations, and the
 * weights of the first layer with weights), stepping through the epochs so far.
 *
 * writeEpochViz stores one frame per epoch, a single-frame lossless WebP, in
 * <out>/animations/frames/<LL-type-quantity>/epoch-NNN.webp, drawn at the animation's scale (the
 * largest robust scale of its frames, kept in VizScaleState) whatever --viz-scale is; when a frame
 * raises it, writeEpochViz redraws the earlier frames from their moments' explorer data, so all
 * frames of an animation share one scale. writeAnimations then SPLICES the stored frames into an animated WebP
 * <out>/animations/<LL-type-quantity>.webp: the frames' compressed bitstreams are copied into ANMF
 * chunks, nothing is re-encoded, so rebuilding every epoch costs file copying, not encoding
 * (encoding all frames again with sharp would cost ~50-250 ms per frame per animation, every epoch).
 * An animated GIF can be made instead (format 'gif'): it re-encodes every frame with sharp, slow; for
 * the end of a run.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { writeFileAtomic } from '../util/atomic-write.js';

export interface AnimationOptions {
  /** 'webp' (default): spliced from the stored frames, cheap. 'gif': re-encoded by sharp, slow. */
  format?: 'webp' | 'gif';
  /** At most this many frames (default 40): more epochs are sampled evenly, first and last kept. */
  maxFrames?: number;
  /** Delay per frame in ms (default 700); the last frame is held 3x as long. */
  delayMs?: number;
  /** Rebuild even when the animation is newer than all its frames. */
  force?: boolean;
}

export const ANIMATIONS_DIR = 'animations';
export const FRAMES_DIR = 'animations/frames';
export const FRAME_EXT = 'webp';

/** Evenly spaced indices into n items, at most k, always including the first and the last. */
export function sampleFrames(n: number, k: number): number[] {
  if (n <= 0) return [];
  if (k < 2) return [n - 1];
  if (n <= k) return Array.from({ length: n }, (_, i) => i);
  const out = new Set<number>();
  for (let i = 0; i < k; i++) out.add(Math.round((i * (n - 1)) / (k - 1)));
  return [...out].sort((a, b) => a - b);
}

async function listDir(p: string): Promise<string[]> {
  try {
    return await fsp.readdir(p);
  } catch {
    return [];
  }
}

async function mtime(p: string): Promise<number> {
  try {
    return (await fsp.stat(p)).mtimeMs;
  } catch {
    return -1;
  }
}

/** Names of the animations that have frames ("01-conv-activations", ...), sorted. */
export async function listAnimationNames(outDir: string): Promise<string[]> {
  const names = await listDir(join(outDir, FRAMES_DIR));
  return names.filter((n) => !n.startsWith('.')).sort();
}

/**
 * Frame files of one animation in training order: epoch-NNN (the end of epoch NNN) and, with
 * --viz-steps, epoch-NNN-step-SSSSSS (step SSSSSS, taken after NNN epochs were completed).
 */
export async function listFrames(outDir: string, name: string): Promise<{ epoch: number; step?: number; file: string }[]> {
  const files = await listDir(join(outDir, FRAMES_DIR, name));
  const re = new RegExp(`^epoch-(\\d+)(?:-step-(\\d+))?\\.${FRAME_EXT}$`);
  return files
    .map((f) => re.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ epoch: Number(m[1]), ...(m[2] === undefined ? {} : { step: Number(m[2]) }), file: join(outDir, FRAMES_DIR, name, m[0]) }))
    .sort((a, b) => a.epoch - b.epoch || (a.step ?? -1) - (b.step ?? -1));
}

// ---------------------------------------------------------------------------------------------------
// WebP container (RIFF) splicing. Spec: https://developers.google.com/speed/webp/docs/riff_container

interface WebpFrame {
  width: number;
  height: number;
  /** The frame's image chunks (optional ALPH, then VP8L or 'VP8 '), each with its header and padding. */
  chunks: Buffer;
}

function u24(b: Buffer, o: number): number {
  return b[o] | (b[o + 1] << 8) | (b[o + 2] << 16);
}

function putU24(b: Buffer, o: number, v: number): void {
  b[o] = v & 255;
  b[o + 1] = (v >> 8) & 255;
  b[o + 2] = (v >> 16) & 255;
}

/** Reads a single-image WebP file: its size and image chunks. Throws on anything else. */
export function parseWebpFrame(buf: Buffer): WebpFrame {
  if (buf.length < 20 || buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WEBP') {
    throw new Error('not a WebP file');
  }
  let o = 12;
  const parts: Buffer[] = [];
  let width = 0;
  let height = 0;
  while (o + 8 <= buf.length) {
    const id = buf.toString('ascii', o, o + 4);
    const size = buf.readUInt32LE(o + 4);
    const end = o + 8 + size + (size & 1);
    if (o + 8 + size > buf.length) throw new Error('truncated WebP chunk');
    const payload = o + 8;
    if (id === 'VP8X') {
      width = u24(buf, payload + 4) + 1;
      height = u24(buf, payload + 7) + 1;
    } else if (id === 'ANIM' || id === 'ANMF') {
      throw new Error('WebP frame is already animated');
    } else if (id === 'VP8L') {
      // 1 byte signature 0x2f, then 14 bits width-1, 14 bits height-1.
      const bits = buf.readUInt32LE(payload + 1);
      width = (bits & 0x3fff) + 1;
      height = ((bits >> 14) & 0x3fff) + 1;
      parts.push(buf.subarray(o, Math.min(end, buf.length)));
    } else if (id === 'VP8 ') {
      width = buf.readUInt16LE(payload + 6) & 0x3fff;
      height = buf.readUInt16LE(payload + 8) & 0x3fff;
      parts.push(buf.subarray(o, Math.min(end, buf.length)));
    } else if (id === 'ALPH') {
      parts.push(buf.subarray(o, Math.min(end, buf.length)));
    }
    o = end;
  }
  if (parts.length === 0 || width === 0 || height === 0) throw new Error('WebP file has no image');
  const chunks = Buffer.concat(parts.map((p) => (p.length & 1 ? Buffer.concat([p, Buffer.alloc(1)]) : p)));
  return { width, height, chunks };
}

function chunk(id: string, payload: Buffer): Buffer {
  const pad = payload.length & 1;
  const out = Buffer.alloc(8 + payload.length + pad);
  out.write(id, 0, 'ascii');
  out.writeUInt32LE(payload.length, 4);
  payload.copy(out, 8);
  return out;
}

/**
 * An animated WebP from single-image WebP frames of one size (copied, not re-encoded).
 * delays in ms per frame; loop 0 = forever.
 */
export function spliceWebpAnimation(frames: WebpFrame[], delays: number[], loop = 0): Buffer {
  if (frames.length === 0) throw new Error('no frames');
  const { width, height } = frames[0];
  const hasAlpha = frames.some((f) => f.chunks.includes(Buffer.from('ALPH')));
  const vp8x = Buffer.alloc(10);
  vp8x[0] = 0x02 | (hasAlpha ? 0x10 : 0); // animation (+ alpha)
  putU24(vp8x, 4, width - 1);
  putU24(vp8x, 7, height - 1);
  const anim = Buffer.alloc(6);
  anim.writeUInt32LE(0xffffffff, 0); // background colour (a hint only)
  anim.writeUInt16LE(loop, 4);
  const body: Buffer[] = [Buffer.from('WEBP', 'ascii'), chunk('VP8X', vp8x), chunk('ANIM', anim)];
  frames.forEach((f, i) => {
    if (f.width !== width || f.height !== height) throw new Error('frames differ in size');
    const head = Buffer.alloc(16);
    putU24(head, 0, 0); // x offset / 2
    putU24(head, 3, 0); // y offset / 2
    putU24(head, 6, f.width - 1);
    putU24(head, 9, f.height - 1);
    putU24(head, 12, Math.max(0, Math.min(0xffffff, Math.round(delays[i] ?? 100))));
    head[15] = 0x02; // do not blend, no disposal: every frame covers the whole canvas
    body.push(chunk('ANMF', Buffer.concat([head, f.chunks])));
  });
  const riffBody = Buffer.concat(body);
  const header = Buffer.alloc(8);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(riffBody.length, 4);
  return Buffer.concat([header, riffBody]);
}

// ---------------------------------------------------------------------------------------------------

/**
 * A frame of another size (a caption wrapped differently, another label) padded with white or
 * cropped to width x height at its top-left, re-encoded. Rare; everything else is copied.
 */
async function fitFrame(buf: Buffer, width: number, height: number): Promise<{ buf: Buffer; frame: WebpFrame }> {
  const meta = await sharp(buf).metadata();
  const w = meta.width ?? width;
  const h = meta.height ?? height;
  const padded = await sharp(buf)
    .removeAlpha()
    .extend({ right: Math.max(0, width - w), bottom: Math.max(0, height - h), background: { r: 255, g: 255, b: 255 } })
    // PNG in between: a bare toBuffer() would keep the input's format, lossy WebP, and blur the frame.
    .png({ compressionLevel: 0 })
    .toBuffer();
  const out = await sharp(padded).extract({ left: 0, top: 0, width, height }).webp({ lossless: true, effort: 0 }).toBuffer();
  return { buf: out, frame: parseWebpFrame(out) };
}

/**
 * Builds one animated image from its frames. Frames whose size differs from the latest frame's are
 * padded or cropped to it. Returns the path relative to outDir,
 * or undefined when there are no frames.
 */
export async function writeAnimation(outDir: string, name: string, opts: AnimationOptions = {}): Promise<string | undefined> {
  const format = opts.format ?? 'webp';
  const rel = `${ANIMATIONS_DIR}/${name}.${format}`;
  const target = join(outDir, rel);
  const all = await listFrames(outDir, name);
  if (all.length === 0) return undefined;
  if (!opts.force) {
    const newest = Math.max(...(await Promise.all(all.map((f) => mtime(f.file)))));
    if ((await mtime(target)) >= newest) return rel;
  }
  const chosen = sampleFrames(all.length, opts.maxFrames ?? 40).map((i) => all[i]);
  const parsed = await Promise.all(
    chosen.map(async (f) => {
      try {
        const buf = await fsp.readFile(f.file);
        return { buf, frame: parseWebpFrame(buf) };
      } catch {
        return undefined; // damaged or unreadable: leave it out
      }
    }),
  );
  const last = parsed[parsed.length - 1];
  if (!last) return undefined;
  const frames = await Promise.all(
    parsed
      .filter((p): p is NonNullable<typeof p> => p !== undefined)
      .map((p) => (p.frame.width === last.frame.width && p.frame.height === last.frame.height ? p : fitFrame(p.buf, last.frame.width, last.frame.height))),
  );
  const delayMs = opts.delayMs ?? 700;
  const delay = frames.map((_, i) => (i === frames.length - 1 ? delayMs * 3 : delayMs));
  let out: Buffer;
  if (format === 'webp') {
    out = spliceWebpAnimation(frames.map((f) => f.frame), delay);
  } else {
    const raws = await Promise.all(frames.map((f) => sharp(f.buf).removeAlpha().raw().toBuffer()));
    const { width, height } = last.frame;
    out = await sharp(Buffer.concat(raws), { raw: { width, height: height * raws.length, channels: 3, pageHeight: height } })
      .gif({ delay, loop: 0, effort: 1, dither: 0 })
      .toBuffer();
  }
  await writeFileAtomic(target, out);
  return rel;
}

/**
 * Rebuilds every animation from its frames; returns the files (relative to outDir). One animation at a
 * time: all at once held every frame of every animation in memory with their spliced copies (resnet20's
 * 75 animations of 26 frames: a 2.0 GB peak, the largest of a long run), one at a time holds one's.
 */
export async function writeAnimations(outDir: string, opts: AnimationOptions = {}): Promise<string[]> {
  const out: string[] = [];
  for (const name of await listAnimationNames(outDir)) {
    const rel = await writeAnimation(outDir, name, opts);
    if (rel !== undefined) out.push(rel);
  }
  return out;
}

/**
 * Animated files present, for the report: name, path relative to outDir (webp preferred over gif)
 * and how many epoch frames exist for it.
 */
export async function listAnimationFiles(outDir: string): Promise<{ name: string; file: string; frames: number }[]> {
  const files = await listDir(join(outDir, ANIMATIONS_DIR));
  const byName = new Map<string, string>();
  for (const f of files.sort()) {
    const m = /^(.+)\.(webp|gif)$/.exec(f);
    if (!m) continue;
    if (!byName.has(m[1]) || m[2] === 'webp') byName.set(m[1], `${ANIMATIONS_DIR}/${f}`);
  }
  const names = [...byName.keys()].sort();
  return Promise.all(names.map(async (name) => ({ name, file: byName.get(name)!, frames: (await listFrames(outDir, name)).length })));
}
