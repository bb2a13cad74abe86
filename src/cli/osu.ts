/**
 * `esim osu ...`: the eUICC OS update (getOsuStatus / startOsu).
 *
 *   esim osu status     the persisted update status of the slot
 *   esim osu start      update the OS when a newer signed image exists (progress on stderr)
 *
 * Exit code 3 when the update failed or the card has no update service.
 */
import { Command } from 'commander';
import { OsuStatus } from '../api/types.js';
import type { OsuProgressEvent } from '../service/protocol.js';
import { withCommonOptions, withService, type CommonOpts } from './connect.js';
import { CliExitError, type CliIo } from './io.js';
import { EXIT, osuStatusName, paint, printJson, Progress } from './output.js';

const TEXT: Readonly<Record<number, string>> = {
  [OsuStatus.EUICC_UPGRADE_IN_PROGRESS]: 'an update is in progress',
  [OsuStatus.EUICC_UPGRADE_FAILED]: 'the last update failed',
  [OsuStatus.EUICC_UPGRADE_SUCCESSFUL]: 'the OS was updated',
  [OsuStatus.EUICC_UPGRADE_ALREADY_LATEST]: 'the OS is up to date',
  [OsuStatus.EUICC_UPGRADE_SERVICE_UNAVAILABLE]: 'this eUICC has no OS update service',
};

function doc(slot: number, status: number, version?: string): Record<string, unknown> {
  return { slot, status: osuStatusName(status), statusCode: status, ...(version !== undefined && { version }) };
}

export function registerOsuCommands(program: Command, io: CliIo): void {
  const osu = program
    .command('osu')
    .description('the eUICC operating system update')
    .addHelpText('after', '\nExamples:\n  esim osu status\n  esim osu start --slot 1');

  withCommonOptions(osu.command('status').description('the OS update status of the eUICC'))
    .addHelpText('after', '\nExample:\n  esim osu status --json')
    .action(async (opts: CommonOpts) => {
      await withService(io, opts, async ({ esim }, out) => {
        const s = await esim.getOsuStatus(opts.slot);
        if (out.json) printJson(out, doc(opts.slot, s));
        else io.stdout(`slot ${opts.slot}: ${TEXT[s] ?? osuStatusName(s)} (${osuStatusName(s)})\n`);
      });
    });

  withCommonOptions(osu.command('start').description('update the OS of the eUICC if a newer signed image exists'))
    .addHelpText('after', '\nExample:\n  esim osu start --slot 0')
    .action(async (opts: CommonOpts) => {
      await withService(io, opts, async ({ esim }, out) => {
        const progress = new Progress(out, 'OS update');
        let version: string | undefined;
        const onProgress = (e: OsuProgressEvent): void => {
          if (e.slotId !== opts.slot) return;
          if (e.version !== undefined) version = e.version;
          const f = e.total !== undefined && e.total > 0 ? (e.done ?? 0) / e.total : 0;
          progress.update({
            step: e.status === OsuStatus.EUICC_UPGRADE_IN_PROGRESS ? 'updating' : osuStatusName(e.status),
            fraction: e.status === OsuStatus.EUICC_UPGRADE_IN_PROGRESS ? f : 1,
            ...(e.total !== undefined && { detail: `${e.done ?? 0}/${e.total}` }),
            json: { slot: e.slotId, status: osuStatusName(e.status), ...(e.done !== undefined && { done: e.done }), ...(e.total !== undefined && { total: e.total }), ...(e.version !== undefined && { version: e.version }) },
          });
        };
        esim.on('osuProgress', onProgress);
        let s: number;
        try {
          s = await esim.startOsu(opts.slot);
        } finally {
          esim.off('osuProgress', onProgress);
          progress.end();
        }
        if (out.json) printJson(out, doc(opts.slot, s, version));
        else io.stdout(`slot ${opts.slot}: ${s === OsuStatus.EUICC_UPGRADE_SUCCESSFUL ? paint(out, 'green', TEXT[s]!) : (TEXT[s] ?? osuStatusName(s))}${version ? ` (${version})` : ''}\n`);
        if (s === OsuStatus.EUICC_UPGRADE_FAILED || s === OsuStatus.EUICC_UPGRADE_SERVICE_UNAVAILABLE) {
          throw new CliExitError(`OS update: ${TEXT[s]}`, EXIT.REFUSED);
        }
      });
    });
}
