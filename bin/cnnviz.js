#!/usr/bin/env node
// Thin launcher: the CLI itself is compiled TypeScript in dist/ (built by `npm install`, shipped in the package).
import { main } from '../dist/cli/main.js';

main(process.argv).then((code) => {
  process.exitCode = code;
  // After a failure nothing queued may keep the process (and a core) busy: picture encodes, worker
  // threads, timers. Exit once stderr has taken the message. A success ends by itself.
  if (code !== 0) process.stderr.write('', () => process.exit(code));
});
