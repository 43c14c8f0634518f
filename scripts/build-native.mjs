#!/usr/bin/env node
// Builds the optional native kernels (src/tensor/native/*.c, a Node-API addon) into
// dist/tensor/native/kernels.node with gcc -O3 -mavx2 -mfma. Optional: without x86-64, a C compiler
// or Node's headers it prints one line and leaves no addon, and cnnviz runs its WebAssembly kernels.
// CC picks the compiler (default gcc); CNNVIZ_NATIVE_BUILD=0 skips the build.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import process from 'node:process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src/tensor/native');
const outDir = join(root, 'dist/tensor/native');
const out = join(outDir, 'kernels.node');

function skip(why) {
  // A stale addon from an earlier build must not outlive its sources.
  rmSync(out, { force: true });
  process.stdout.write(`native kernels not built (${why}): cnnviz will use its WebAssembly kernels\n`);
  process.exit(0);
}

if (process.env.CNNVIZ_NATIVE_BUILD === '0') skip('CNNVIZ_NATIVE_BUILD=0');
if (process.arch !== 'x64') skip(`the AVX2 kernels need x86-64, this is ${process.arch}`);
// Node's headers: installed with Node (<prefix>/include/node), or a distribution's /usr/include/node.
const headerDirs = [join(dirname(process.execPath), '../include/node'), '/usr/include/node', '/usr/local/include/node'];
const headers = headerDirs.find((d) => existsSync(join(d, 'node_api.h')));
if (!headers) skip(`node_api.h not found in ${headerDirs.join(', ')}`);
const cc = process.env.CC || 'gcc';
const tmp = mkdtempSync(join(tmpdir(), 'cnnviz-native-'));
try {
  const objects = [];
  for (const file of readdirSync(src).filter((f) => f.endsWith('.c')).sort()) {
    const obj = join(tmp, file.replace(/\.c$/, '.o'));
    // Only the kernels are compiled for AVX2: the entry points (addon.c) check the CPU before any runs.
    const isa = file === 'addon.c' ? [] : ['-mavx2', '-mfma'];
    // update.c must round as JavaScript does, and norm.c's scalar tails as its vector loops (fused and
    // unfused variants agree bit for bit): no multiply-adds but the written ones.
    const exact = file === 'update.c' || file === 'norm.c' ? ['-ffp-contract=off'] : [];
    execFileSync(cc, ['-O3', ...isa, ...exact, '-std=gnu11', '-fPIC', '-fvisibility=hidden', '-Wall', '-I', headers, '-c', join(src, file), '-o', obj], { stdio: ['ignore', 'ignore', 'pipe'] });
    objects.push(obj);
  }
  mkdirSync(outDir, { recursive: true });
  execFileSync(cc, ['-shared', '-o', out, ...objects], { stdio: ['ignore', 'ignore', 'pipe'] });
} catch (e) {
  const reason = e.code === 'ENOENT' ? `${cc} not found` : `${cc} failed: ${String(e.stderr ?? e.message).trim().split('\n')[0]}`;
  skip(reason);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
process.stdout.write(`native kernels: ${out.slice(root.length + 1)} (${cc}, AVX2 + FMA)\n`);
