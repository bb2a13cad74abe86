/**
 * `npm run bench`: prints one JSON line per figure ({"name","value","unit",...}).
 * Options: --seconds N (measuring time per figure, default 1), --only <group prefix>.
 * Groups: codec, crypto, euicc, lpa (virtual, and pcsc / at when pcscd+vpcd / socat are present), download, api, cli.
 */
import { benchApi } from './api.bench.js';
import { benchCli } from './cli.bench.js';
import { benchCodec } from './codec.bench.js';
import { benchCrypto } from './crypto.bench.js';
import { benchDownload } from './download.bench.js';
import { benchEuicc } from './euicc.bench.js';
import { benchLpa } from './lpa-transports.bench.js';

const args = process.argv.slice(2);
const seconds = Number(args[args.indexOf('--seconds') + 1] ?? 1) || 1;
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;

const groups: Array<[string, (s: number) => void | Promise<void>]> = [
  ['codec', benchCodec],
  ['crypto', benchCrypto],
  ['euicc', benchEuicc],
  ['lpa', benchLpa],
  ['download', benchDownload],
  ['api', benchApi],
  ['cli', benchCli],
];
for (const [name, fn] of groups) {
  if (only && !name.startsWith(only)) continue;
  await fn(seconds);
}
