/**
 * `esim chip ...` (lpac's `chip` commands, through the eSIM API):
 *
 *   esim chip info                          EID, OS version, default SM-DP+, free memory, full EUICCInfo2
 *   esim chip default-smdp [address]        show, or set, the default SM-DP+ address
 *   esim chip purge [--operational] [--test] [--default-smdp] [--all] [--yes]
 *                                           eUICC memory reset (resetMemory with the ResetOption bits)
 *
 * Every command takes --slot, --port, --json, --home, --socket (connect.ts).
 */
import { Command } from 'commander';
import { ResetOption, ResultCode } from '../api/types.js';
import { withCommonOptions, withService, type CommonOpts } from './connect.js';
import { CliExitError, CliUsageError, type CliIo } from './io.js';
import { ask, canAsk, EXIT, failure, fields, outFor, paint, printJson, refused, resultName } from './output.js';

interface EuiccInfo2Like {
  svn?: string;
  profileVersion?: string;
  firmwareVersion?: string;
  extCardResource?: { installedApplications?: number; freeNonVolatileMemory?: number; freeVolatileMemory?: number };
  [k: string]: unknown;
}

/** ResetOption bits → names, in the JSON document. */
export function resetOptionNames(mask: number): string[] {
  const out: string[] = [];
  if (mask & ResetOption.DELETE_OPERATIONAL_PROFILES) out.push('operational');
  if (mask & ResetOption.DELETE_FIELD_LOADED_TEST_PROFILES) out.push('test');
  if (mask & ResetOption.RESET_DEFAULT_SMDP_ADDRESS) out.push('defaultSmdp');
  return out;
}

function bytes(n: number | undefined): string {
  return n === undefined ? '' : `${n} bytes`;
}

export function registerChipCommands(program: Command, io: CliIo): void {
  const chip = program
    .command('chip')
    .description('the eUICC: information, default SM-DP+ address, memory reset')
    .addHelpText('after', '\nExamples:\n  esim chip info\n  esim chip default-smdp smdp.example.com\n  esim chip purge --operational --yes');

  withCommonOptions(chip.command('info').description('EID, OS version, default SM-DP+ address, free memory and the full EUICCInfo2'))
    .addHelpText('after', '\nExample:\n  esim chip info --slot 1 --json')
    .action(async (opts: CommonOpts) => {
      await withService(io, opts, async ({ esim }, out) => {
        const eid = await esim.getEid(opts.slot);
        const defaultSmdpAddress = await esim.getDefaultSmdpAddress(opts.slot);
        const info2 = (await esim.getEuiccInfo2(opts.slot)) as EuiccInfo2Like;
        const res = info2.extCardResource ?? {};
        const osVersion = info2.firmwareVersion ?? ''; // what getEuiccInfo answers (the same EUICCInfo2 read)
        if (out.json) {
          printJson(out, {
            slot: opts.slot,
            eid,
            osVersion,
            defaultSmdpAddress,
            svn: info2.svn ?? null,
            profileVersion: info2.profileVersion ?? null,
            freeNonVolatileMemory: res.freeNonVolatileMemory ?? null,
            freeVolatileMemory: res.freeVolatileMemory ?? null,
            installedApplications: res.installedApplications ?? null,
            euiccInfo2: info2,
          });
          return;
        }
        io.stdout(
          fields(out, [
            ['slot', String(opts.slot)],
            ['EID', paint(out, 'cyan', eid)],
            ['OS version', osVersion],
            ['default SM-DP+', defaultSmdpAddress],
            ['SGP.22 version', info2.svn ?? ''],
            ['SAIP version', info2.profileVersion ?? ''],
            ['free memory', bytes(res.freeNonVolatileMemory)],
            ['free RAM', bytes(res.freeVolatileMemory)],
            ['applications', res.installedApplications === undefined ? '' : String(res.installedApplications)],
          ]),
        );
      });
    });

  withCommonOptions(
    chip
      .command('default-smdp')
      .argument('[address]', 'new default SM-DP+ address (host[:port]); omitted: show the current one')
      .description('show or set the default SM-DP+ address of the eUICC'),
  )
    .addHelpText('after', '\nExamples:\n  esim chip default-smdp\n  esim chip default-smdp smdp.example.com:443')
    .action(async (address: string | undefined, opts: CommonOpts) => {
      await withService(io, opts, async ({ esim }, out) => {
        if (address === undefined) {
          const current = await esim.getDefaultSmdpAddress(opts.slot);
          if (out.json) printJson(out, { slot: opts.slot, defaultSmdpAddress: current });
          else io.stdout(current === '' ? '(no default SM-DP+ address)\n' : `${current}\n`);
          return;
        }
        const code = await esim.setDefaultSmdpAddress(opts.slot, address);
        if (out.json) printJson(out, { slot: opts.slot, defaultSmdpAddress: address, resultCode: code, result: resultName(code) });
        if (code !== ResultCode.RESULT_OK) throw refused('setting the default SM-DP+ address', code);
        if (!out.json) io.stdout(`default SM-DP+ address of slot ${opts.slot}: ${address}\n`);
      });
    });

  withCommonOptions(
    chip
      .command('purge')
      .description('eUICC memory reset: delete operational and/or test profiles, reset the default SM-DP+ address')
      .option('--operational', 'delete operational profiles (the default when no option is given)')
      .option('--test', 'delete field-loaded test profiles')
      .option('--default-smdp', 'reset the default SM-DP+ address')
      .option('--all', 'all three')
      .option('--yes', 'do not ask for confirmation'),
  )
    .addHelpText('after', '\nExamples:\n  esim chip purge --yes\n  esim chip purge --operational --test --default-smdp --slot 1')
    .action(async (opts: CommonOpts & { operational?: boolean; test?: boolean; defaultSmdp?: boolean; all?: boolean; yes?: boolean }) => {
      let mask = 0;
      if (opts.operational || opts.all) mask |= ResetOption.DELETE_OPERATIONAL_PROFILES;
      if (opts.test || opts.all) mask |= ResetOption.DELETE_FIELD_LOADED_TEST_PROFILES;
      if (opts.defaultSmdp || opts.all) mask |= ResetOption.RESET_DEFAULT_SMDP_ADDRESS;
      if (mask === 0) mask = ResetOption.DELETE_OPERATIONAL_PROFILES;
      const names = resetOptionNames(mask);
      if (!opts.yes) {
        if (!canAsk(io)) throw failure(outFor(io, opts.json), new CliUsageError('chip purge erases data on the eUICC: confirm on a terminal, or pass --yes'));
        const what = [
          mask & 1 ? 'every operational profile' : '',
          mask & 2 ? 'every field-loaded test profile' : '',
          mask & 4 ? 'the default SM-DP+ address' : '',
        ]
          .filter((x) => x !== '')
          .join(', ');
        const answer = await ask(io, `This deletes ${what} of the eUICC in slot ${opts.slot}. Type "yes" to continue: `);
        if (answer === undefined || answer.trim().toLowerCase() !== 'yes') {
          if (opts.json) printJson(outFor(io, true), { slot: opts.slot, options: names, optionsMask: mask, confirmed: false });
          throw new CliExitError('purge not confirmed: nothing was changed', EXIT.FAILURE);
        }
      }
      await withService(io, opts, async ({ esim }, out) => {
        const code = await esim.resetMemory(opts.slot, mask);
        if (out.json) printJson(out, { slot: opts.slot, options: names, optionsMask: mask, resultCode: code, result: resultName(code) });
        if (code !== ResultCode.RESULT_OK) throw refused('memory reset', code);
        if (!out.json) io.stdout(`slot ${opts.slot}: memory reset done (${names.join(', ')})\n`);
      });
    });
}
