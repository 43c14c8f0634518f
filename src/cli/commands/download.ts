import type { Command } from 'commander';
import { pathText } from '../options.js';
import {
  CIFAR10_ARCHIVE_BYTES,
  CIFAR10_MD5,
  CIFAR10_URL,
  DEFAULT_DATA_DIR,
  MD5_ENV,
  URL_ENV,
  downloadCifar10,
} from '../../data/download.js';
import { UserError } from '../../util/errors.js';

interface DownloadCliOptions {
  dir: string;
  url?: string;
  md5?: string;
  from?: string;
  force?: boolean;
}

/** `cnnviz download`: fetch (or unpack a local copy of) CIFAR-10 into <dir>/cifar-10-batches-bin. */
export function registerDownload(program: Command): void {
  program
    .command('download')
    .description(
      `download CIFAR-10 (binary version, ${Math.round(CIFAR10_ARCHIVE_BYTES / 1e6)} MB), check its MD5 and ` +
        'unpack it into <dir>/cifar-10-batches-bin',
    )
    .option('--dir <dir>', 'parent folder of cifar-10-batches-bin', pathText, DEFAULT_DATA_DIR)
    .option('--url <url>', `archive URL, for a mirror (env ${URL_ENV}; default ${CIFAR10_URL})`)
    .option('--md5 <md5>', `expected MD5 of the archive (env ${MD5_ENV}; default the official ${CIFAR10_MD5})`)
    .option('--from <tarball>', 'unpack this local cifar-10-binary.tar.gz instead of downloading', pathText)
    .option('--force', 'fetch again and replace an existing cifar-10-batches-bin')
    .action(async (opts: DownloadCliOptions) => {
      if (opts.from !== undefined && opts.url !== undefined) {
        throw new UserError('--from and --url cannot be used together');
      }
      const folder = await downloadCifar10({
        dir: opts.dir,
        url: opts.url,
        md5: opts.md5,
        from: opts.from,
        force: opts.force === true,
      });
      process.stdout.write(`${folder}\n`);
    });
}
