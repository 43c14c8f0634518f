import type { Command } from 'commander';
import { pathText } from '../options.js';
import {
  CIFAR10_ARCHIVE_BYTES,
  CIFAR10_MD5,
  CIFAR10_URL,
  DATASET_SOURCES,
  DEFAULT_DATA_DIR,
  DOWNLOADABLE,
  MD5_ENV,
  URL_ENV,
  downloadDataset,
  type DownloadName,
} from '../../data/download.js';
import { UserError } from '../../util/errors.js';

interface DownloadCliOptions {
  dir: string;
  url?: string;
  md5?: string;
  from?: string;
  force?: boolean;
}

/**
 * `cnnviz download [name]`: fetch (or, for CIFAR-10 and CIFAR-100, unpack a local copy of) a data set: CIFAR-10 into
 * <dir>/cifar-10-batches-bin, the others into <dir>/<name>.
 */
export function registerDownload(program: Command): void {
  program
    .command('download')
    .argument('[name]', `the data set: ${DOWNLOADABLE.join(', ')}`, 'cifar-10')
    .description(
      `download a data set, check the published MD5 of every file and install it: cifar-10 (binary version, ${Math.round(CIFAR10_ARCHIVE_BYTES / 1e6)} MB) ` +
        'into <dir>/cifar-10-batches-bin; mnist, fashion-mnist (IDX files, kept gzipped) and cifar-100 (binary version) into <dir>/<name>',
    )
    .option('--dir <dir>', 'parent folder of the data folder', pathText, DEFAULT_DATA_DIR)
    .option('--url <url>', `a mirror: the archive URL for cifar-10 and cifar-100 (env ${URL_ENV} for cifar-10; default ${CIFAR10_URL}), the folder URL holding the four files for mnist and fashion-mnist`)
    .option('--md5 <md5>', `expected MD5 of the cifar-10 or cifar-100 archive, for a mirror with its own packing (env ${MD5_ENV} for cifar-10; default the official ${CIFAR10_MD5})`)
    .option('--from <tarball>', 'cifar-10 and cifar-100: unpack this local archive (cifar-10-binary.tar.gz, cifar-100-binary.tar.gz) instead of downloading', pathText)
    .option('--force', 'fetch again and replace an existing data folder')
    .action(async (nameArg: string, opts: DownloadCliOptions) => {
      const name = nameArg.toLowerCase().replace(/^cifar(\d)/, 'cifar-$1') as DownloadName;
      if (!(DOWNLOADABLE as readonly string[]).includes(name)) throw new UserError(`download: unknown data set "${nameArg}"; choose one of ${DOWNLOADABLE.join(', ')}`);
      if (opts.from !== undefined && opts.url !== undefined) {
        throw new UserError('--from and --url cannot be used together');
      }
      const source = DATASET_SOURCES[name];
      const archives = DOWNLOADABLE.filter((n) => DATASET_SOURCES[n].archive);
      if (opts.from !== undefined && !source.archive) throw new UserError(`--from: applies to ${archives.join(' and ')} only; for ${name}, put the files in a folder and pass it to train with --data`);
      if (opts.md5 !== undefined && !source.archive) throw new UserError(`--md5: ${name} is ${source.files.length} files, each checked against its published MD5; --md5 applies to ${archives.join(' and ')}`);
      const folder = await downloadDataset(name, { dir: opts.dir, url: opts.url, md5: opts.md5, from: opts.from, force: opts.force === true });
      process.stdout.write(`${folder}\n`);
    });
}
