/**
 * `npm run bench`: prints one JSON line per figure ({"name","value","unit",...}).
 * Options: --seconds N (measuring time per figure, default 1), --only <prefix>.
 */
import { benchCodec } from './codec.bench.js';
import { benchCrypto } from './crypto.bench.js';
import { benchEuicc } from './euicc.bench.js';

const args = process.argv.slice(2);
const seconds = Number(args[args.indexOf('--seconds') + 1] ?? 1) || 1;
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;

const groups: Array<[string, (s: number) => void]> = [
  ['codec', benchCodec],
  ['crypto', benchCrypto],
  ['euicc', benchEuicc],
];
for (const [name, fn] of groups) {
  if (only && !name.startsWith(only)) continue;
  fn(seconds);
}
