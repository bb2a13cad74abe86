/**
 * `esim notification ...` (lpac's `notification` commands, through the eSIM API extensions):
 *
 *   esim notification list                    the notifications pending on the eUICC
 *   esim notification process [seq...]       send them (all, or the given ones) to their SM-DP+; each one
 *                                            acknowledged is removed from the eUICC
 *   esim notification remove <seq...> | --all  remove without sending
 */
import { Command, InvalidArgumentError } from 'commander';
import { ResultCode } from '../api/types.js';
import { withCommonOptions, withService, type CommonOpts } from './connect.js';
import { CliExitError, CliUsageError, type CliIo } from './io.js';
import { EXIT, failure, outFor, printJson, resultName, table } from './output.js';

function parseSeq(v: string, previous: number[] | undefined): number[] {
  if (!/^\d{1,9}$/.test(v)) throw new InvalidArgumentError('a sequence number is a non-negative integer');
  return [...(previous ?? []), Number(v)];
}

/** notificationInstall → install (SGP.22 NotificationEvent names without their prefix, as lpac shows them). */
export function eventName(e: string): string {
  const m = /^notification([A-Z])(.*)$/.exec(e);
  return m ? m[1]!.toLowerCase() + m[2]! : e;
}

interface Failed {
  seqNumber: number;
  resultCode: number;
  result: string;
}

export function registerNotificationCommands(program: Command, io: CliIo): void {
  const n = program
    .command('notification')
    .description('notifications of the eUICC for its SM-DP+ servers (install, enable, disable, delete)')
    .addHelpText('after', '\nExamples:\n  esim notification list\n  esim notification process\n  esim notification remove 3 4');

  withCommonOptions(n.command('list').description('the notifications pending on the eUICC'))
    .addHelpText('after', '\nExample:\n  esim notification list --json')
    .action(async (opts: CommonOpts) => {
      await withService(io, opts, async ({ esim }, out) => {
        const list = await esim.listNotifications(opts.slot);
        const notifications = list.map((x) => ({ seqNumber: x.seqNumber, event: eventName(x.event), address: x.address, iccid: x.iccid ?? null }));
        if (out.json) {
          printJson(out, { slot: opts.slot, notifications });
          return;
        }
        if (notifications.length === 0) {
          io.stdout(`no pending notifications on slot ${opts.slot}\n`);
          return;
        }
        io.stdout(table(out, ['SEQ', 'EVENT', 'ICCID', 'SM-DP+'], notifications.map((x) => [String(x.seqNumber), x.event, x.iccid ?? '', x.address])));
      });
    });

  withCommonOptions(
    n
      .command('process')
      .argument('[seq...]', 'sequence numbers (default: every pending notification)', parseSeq)
      .description('send pending notifications to their SM-DP+ (acknowledged ones are removed from the eUICC)'),
  )
    .addHelpText('after', '\nExamples:\n  esim notification process\n  esim notification process 3 4 --json')
    .action(async (seqs: number[] | undefined, opts: CommonOpts) => {
      await withService(io, opts, async ({ esim }, out) => {
        const sent: number[] = [];
        const failed: Failed[] = [];
        const add = (r: { sent: number[]; failed: { seqNumber: number; resultCode: number }[] }): void => {
          sent.push(...r.sent);
          failed.push(...r.failed.map((f) => ({ seqNumber: f.seqNumber, resultCode: f.resultCode, result: resultName(f.resultCode) })));
        };
        if (seqs === undefined || seqs.length === 0) add(await esim.sendNotifications(opts.slot));
        else for (const s of seqs) add(await esim.sendNotifications(opts.slot, s));
        if (out.json) printJson(out, { slot: opts.slot, sent, failed });
        else {
          io.stdout(sent.length === 0 && failed.length === 0 ? 'nothing to send\n' : `sent: ${sent.join(', ') || 'none'}\n`);
          for (const f of failed) io.stdout(`not sent: ${f.seqNumber} (${f.result}, ${f.resultCode})\n`);
        }
        if (failed.length > 0) throw new CliExitError(`${failed.length} notification${failed.length === 1 ? '' : 's'} not sent`, EXIT.REFUSED);
      });
    });

  withCommonOptions(
    n
      .command('remove')
      .argument('[seq...]', 'sequence numbers', parseSeq)
      .option('--all', 'every pending notification')
      .description('remove notifications from the eUICC without sending them'),
  )
    .addHelpText('after', '\nExamples:\n  esim notification remove 3\n  esim notification remove --all')
    .action(async (seqs: number[] | undefined, opts: CommonOpts & { all?: boolean }) => {
      const given = seqs ?? [];
      if ((opts.all === true) === (given.length > 0)) {
        const msg = opts.all ? 'give sequence numbers or --all, not both' : 'give the sequence numbers to remove, or --all';
        throw failure(outFor(io, opts.json), new CliUsageError(msg));
      }
      await withService(io, opts, async ({ esim }, out) => {
        const targets = opts.all ? (await esim.listNotifications(opts.slot)).map((x) => x.seqNumber) : given;
        const removed: number[] = [];
        const failed: Failed[] = [];
        for (const s of targets) {
          const code = await esim.removeNotification(opts.slot, s);
          if (code === ResultCode.RESULT_OK) removed.push(s);
          else failed.push({ seqNumber: s, resultCode: code, result: resultName(code) });
        }
        if (out.json) printJson(out, { slot: opts.slot, removed, failed });
        else {
          io.stdout(removed.length === 0 && failed.length === 0 ? 'nothing to remove\n' : `removed: ${removed.join(', ') || 'none'}\n`);
          for (const f of failed) io.stdout(`not removed: ${f.seqNumber} (${f.result}, ${f.resultCode})\n`);
        }
        if (failed.length > 0) throw new CliExitError(`${failed.length} notification${failed.length === 1 ? '' : 's'} not removed`, EXIT.REFUSED);
      });
    });
}
