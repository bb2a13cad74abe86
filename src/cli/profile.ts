/**
 * `esim profile ...` (lpac's `profile` commands, through the eSIM API):
 *
 *   esim profile list
 *   esim profile enable <iccid> [--force]      switchToProfile (--force: disable the enabled profile)
 *   esim profile disable <iccid>
 *   esim profile delete <iccid>
 *   esim profile nickname <iccid> <name>
 *   esim profile download [-a <code> | -s <smdp> [-m <matchingId>] | --qr <image>] [-c <code>]
 *                         [--preview] [--yes] [--accept-ppr] [--enable] [--force]
 *   esim profile discovery                      getDownloadableProfiles (default SM-DP+ and SM-DS)
 *   esim profile pending [list] | accept <id> | reject <id>     the addProfile queue
 *
 * A download shows its progress on stderr; Ctrl-C cancels it (cancelSession with the transactionId of the
 * downloadProgress events, reason END_USER_REJECTION), prints "download cancelled" and exits 130.
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { ActivationCodeError, formatActivationCode, parseActivationCode } from '../asn1/activation-code.js';
import type { ESim } from '../api/esim.js';
import {
  CancelReason,
  ResultCode,
  SolvableErrors,
  type DownloadableProfile,
  type DownloadConfiguration,
  type DownloadProfileResult,
  type EuiccProfile,
  type GetDownloadableProfileMetadataResult,
} from '../api/types.js';
import type { DownloadProgressEvent, ProfileChangeEvent } from '../service/protocol.js';
import { withCommonOptions, withService, type CommonOpts } from './connect.js';
import { CliExitError, CliUsageError, type CliIo } from './io.js';
import {
  ask,
  canAsk,
  confirm,
  EXIT,
  fields,
  interrupted,
  outFor,
  paint,
  policyRuleNames,
  precheck,
  printJson,
  profileClassName,
  Progress,
  refused,
  resultName,
  solvableErrorNames,
  stateName,
  table,
  type Out,
} from './output.js';

// ------------------------------------------------------------------------------------------ JSON shapes

/** One profile in `profile list --json`. */
export interface ProfileJson {
  iccid: string;
  state: string;
  nickname: string;
  serviceProviderName: string;
  profileName: string;
  profileClass: string;
  policyRules: string[];
  operatorId: { mcc: string; mnc: string; gid1: string; gid2: string };
}

export function profileJson(p: EuiccProfile): ProfileJson {
  return {
    iccid: p.iccid,
    state: stateName(p.state),
    nickname: p.nickName,
    serviceProviderName: p.serviceProviderName,
    profileName: p.profileName,
    profileClass: profileClassName(p.profileClass),
    policyRules: policyRuleNames(p.policyRules),
    operatorId: { mcc: p.operatorId.mcc, mnc: p.operatorId.mnc, gid1: p.operatorId.gid1, gid2: p.operatorId.gid2 },
  };
}

/** The metadata shown by `profile download --preview`. */
export interface PreviewJson {
  iccid: string;
  serviceProviderName: string;
  profileName: string;
  profileClass: string;
  policyRules: string[];
  confirmationCodeRequired: boolean;
  pprConsentRequired: boolean;
}

function previewJson(m: GetDownloadableProfileMetadataResult, ccRequired: boolean): PreviewJson {
  return {
    iccid: m.iccid,
    serviceProviderName: m.serviceProviderName,
    profileName: m.profileName,
    profileClass: profileClassName(m.profileClass),
    policyRules: policyRuleNames(m.pprType),
    confirmationCodeRequired: ccRequired || (m.solvableErrors & SolvableErrors.SOLVABLE_ERROR_NEED_CONFIRMATION_CODE) !== 0,
    pprConsentRequired: (m.solvableErrors & SolvableErrors.SOLVABLE_ERROR_NEED_POLICY_RULE) !== 0,
  };
}

// ------------------------------------------------------------------------------------------ activation code

interface DownloadOpts extends CommonOpts {
  activationCode?: string;
  smdp?: string;
  matchingId?: string;
  confirmationCode?: string;
  qr?: string;
  preview?: boolean;
  yes?: boolean;
  acceptPpr?: boolean;
  enable?: boolean;
  force?: boolean;
}

function parseCode(text: string, from: string): { code: string; ccRequired: boolean } {
  try {
    const ac = parseActivationCode(text.trim());
    return { code: formatActivationCode(ac, { prefix: true }), ccRequired: ac.ccRequired };
  } catch (e) {
    // the message names the fault, never the code's token
    if (e instanceof ActivationCodeError) throw new CliUsageError(`${from} is not a valid activation code: ${e.message.replace(/^activation code: /, '')}`);
    throw e;
  }
}

/** The activation code from -a, -s/-m or --qr (exactly one source); undefined: use the card's default SM-DP+. */
async function activationCodeOf(o: DownloadOpts): Promise<{ code: string; ccRequired: boolean } | undefined> {
  const sources = [o.activationCode !== undefined, o.smdp !== undefined, o.qr !== undefined].filter(Boolean).length;
  if (sources > 1) throw new CliUsageError('give one of -a <activation code>, -s <smdp> [-m <matchingId>] or --qr <image>');
  if (o.matchingId !== undefined && o.smdp === undefined) throw new CliUsageError('-m <matchingId> needs -s <smdp>');
  if (o.activationCode !== undefined) return parseCode(o.activationCode, 'the -a argument');
  if (o.smdp !== undefined) return parseCode(`LPA:1$${o.smdp}$${o.matchingId ?? ''}`, '-s/-m');
  if (o.qr !== undefined) {
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(o.qr);
    } catch (e) {
      throw new CliUsageError(`cannot read the QR image ${o.qr}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    const { decodeQrImage, QrImageError } = await import('../util/qr-image.js'); // image decoders: only when needed
    let text: string;
    try {
      text = decodeQrImage(bytes);
    } catch (e) {
      if (e instanceof QrImageError) throw new CliUsageError(`${o.qr}: ${e.message}`);
      throw e;
    }
    return parseCode(text, `the QR code in ${o.qr}`);
  }
  return undefined;
}

// ------------------------------------------------------------------------------------------ download with progress and Ctrl-C

const STEP_FRACTION: Readonly<Record<string, number>> = { authenticating: 0.1, downloading: 0.3, installing: 0.35, notifying: 0.92, done: 1, failed: 1 };

function stepFraction(e: DownloadProgressEvent): number {
  if (e.step === 'installing' && e.total !== undefined && e.total > 0 && e.done !== undefined) return 0.35 + (0.55 * e.done) / e.total;
  return STEP_FRACTION[e.step] ?? 0;
}

interface DownloadOutcome {
  result: DownloadProfileResult;
  /** The ICCID installed (profileChange 'installed'), when it was. */
  iccid?: string;
  transactionId?: string;
  cancelled: boolean;
}

/**
 * Run `start` (downloadProfile or resolvePendingAdd) with progress on stderr; Ctrl-C (io.signal) cancels the
 * running session with cancelSession(slot, transactionId, END_USER_REJECTION).
 */
async function trackedDownload(
  esim: ESim,
  io: CliIo,
  out: Out,
  slot: number,
  start: () => Promise<DownloadProfileResult | null>,
): Promise<DownloadOutcome & { rejected?: boolean }> {
  const progress = new Progress(out, 'download');
  let transactionId: string | undefined;
  let installed: string | undefined;
  let cancelRequested = false;
  let cancelCall: Promise<void> | undefined;
  let running = true;

  const cancel = (): void => {
    if (cancelCall || transactionId === undefined || !running) return;
    const tid = transactionId;
    if (!out.json) progress.end();
    if (!out.json) io.stderr('cancelling the download...\n');
    cancelCall = esim.cancelSession(slot, tid, CancelReason.CANCEL_REASON_END_USER_REJECTION).then(
      () => undefined,
      () => undefined, // the download's own result tells what happened
    );
  };
  const onProgress = (e: DownloadProgressEvent): void => {
    if (e.slotId !== slot || !running) return;
    if (e.transactionId !== undefined && e.step !== 'done' && e.step !== 'failed') transactionId = e.transactionId;
    const detail = e.step === 'installing' && e.total !== undefined ? `${e.done ?? 0}/${e.total}` : undefined;
    progress.update({
      step: e.step,
      fraction: stepFraction(e),
      ...(detail !== undefined && { detail }),
      json: {
        slot: e.slotId,
        port: e.portIndex,
        step: e.step,
        ...(e.done !== undefined && { done: e.done }),
        ...(e.total !== undefined && { total: e.total }),
        ...(e.transactionId !== undefined && { transactionId: e.transactionId }),
        ...(e.resultCode !== undefined && { resultCode: e.resultCode }),
      },
    });
    if (cancelRequested) cancel();
  };
  const onChange = (e: ProfileChangeEvent): void => {
    if (e.slotId === slot && e.change === 'installed' && running) installed = e.iccid;
  };
  const onAbort = (): void => {
    cancelRequested = true;
    cancel();
  };
  esim.on('downloadProgress', onProgress);
  esim.on('profileChange', onChange);
  io.signal?.addEventListener('abort', onAbort, { once: true });
  if (io.signal?.aborted) onAbort();
  try {
    const result = await start();
    running = false;
    await cancelCall;
    if (result === null) return { result: { responseResult: ResultCode.RESULT_OK, solvableErrors: 0 as SolvableErrors, cardId: slot }, cancelled: false, rejected: true };
    return {
      result,
      ...(installed !== undefined && { iccid: installed }),
      ...(transactionId !== undefined && { transactionId }),
      cancelled: cancelRequested && installed === undefined,
    };
  } finally {
    running = false;
    progress.end();
    io.signal?.removeEventListener('abort', onAbort);
    esim.off('downloadProgress', onProgress);
    esim.off('profileChange', onChange);
  }
}

/** The end of a download: the JSON document / text, exit code 3 or 130 when it did not install. */
function reportDownload(io: CliIo, out: Out, base: Record<string, unknown>, o: DownloadOutcome, enable: boolean): void {
  const r = o.result;
  const installed = o.iccid !== undefined || (r.responseResult === ResultCode.RESULT_OK && !o.cancelled);
  const doc = {
    ...base,
    resultCode: r.responseResult,
    result: resultName(r.responseResult),
    solvableErrors: solvableErrorNames(r.solvableErrors),
    cardId: r.cardId,
    installed,
    iccid: o.iccid ?? null,
    enabled: installed && enable && r.responseResult === ResultCode.RESULT_OK,
    cancelled: o.cancelled,
    transactionId: o.transactionId ?? null,
  };
  if (out.json) printJson(out, doc);
  if (o.cancelled) throw interrupted('download cancelled');
  if (r.responseResult === ResultCode.RESULT_SOLVABLE_ERRORS) {
    const hints: string[] = [];
    if (r.solvableErrors & SolvableErrors.SOLVABLE_ERROR_NEED_CONFIRMATION_CODE) hints.push('the SM-DP+ asks for a confirmation code: pass -c <code>');
    if (r.solvableErrors & SolvableErrors.SOLVABLE_ERROR_NEED_POLICY_RULE) hints.push('the profile has policy rules that need your consent: pass --accept-ppr (or review them with --preview)');
    throw new CliExitError(`download not done: ${hints.join('; ') || 'the download needs something from you'}`, EXIT.REFUSED);
  }
  if (r.responseResult !== ResultCode.RESULT_OK) {
    if (installed) throw refused(`profile ${o.iccid ?? ''} installed but not enabled`, r.responseResult);
    throw refused('download failed', r.responseResult);
  }
  if (!out.json) {
    if (io.signal?.aborted) io.stderr('the download had completed before it could be cancelled\n');
    io.stdout(`${paint(out, 'green', 'installed')} profile ${o.iccid ?? ''} on slot ${r.cardId}${doc.enabled ? ' (enabled)' : ''}\n`);
  }
}

// ------------------------------------------------------------------------------------------ commands

function iccidArg(v: string): string {
  return v.trim();
}

async function simpleResult(io: CliIo, out: Out, what: string, doc: Record<string, unknown>, code: number, done: string): Promise<void> {
  if (out.json) printJson(out, { ...doc, resultCode: code, result: resultName(code) });
  if (code !== ResultCode.RESULT_OK) throw refused(what, code);
  if (!out.json) io.stdout(done + '\n');
}

export function registerProfileCommands(program: Command, io: CliIo): void {
  const profile = program
    .command('profile')
    .description('profiles on the eUICC: list, enable, disable, delete, rename, download, discovery')
    .addHelpText(
      'after',
      "\nExamples:\n  esim profile list\n  esim profile download -a 'LPA:1$smdp.example.com$MATCHING-ID' --preview\n  esim profile enable 8949000000000000001F --force",
    );

  withCommonOptions(profile.command('list').description('the profiles on the eUICC'))
    .addHelpText('after', '\nExample:\n  esim profile list --slot 1 --json')
    .action(async (opts: CommonOpts) => {
      await withService(io, opts, async ({ esim }, out) => {
        const r = await esim.getEuiccProfileInfoList(opts.slot);
        const profiles = r.profiles.map(profileJson);
        if (out.json) {
          printJson(out, { slot: opts.slot, resultCode: r.responseResult, result: resultName(r.responseResult), isRemovable: r.isRemovable, profiles });
        }
        if (r.responseResult !== ResultCode.RESULT_OK) throw refused('listing the profiles', r.responseResult);
        if (out.json) return;
        if (profiles.length === 0) {
          io.stdout(`no profiles on slot ${opts.slot}\n`);
          return;
        }
        io.stdout(
          table(
            out,
            ['ICCID', 'STATE', 'CLASS', 'NICKNAME', 'PROVIDER', 'NAME'],
            profiles.map((p) => [
              p.iccid,
              p.state === 'enabled' ? paint(out, 'green', p.state) : paint(out, 'dim', p.state),
              p.profileClass,
              p.nickname,
              p.serviceProviderName,
              p.profileName,
            ]),
          ),
        );
      });
    });

  withCommonOptions(
    profile
      .command('enable')
      .argument('<iccid>', 'ICCID of the profile', iccidArg)
      .description('enable a profile (switchToProfile)')
      .option('--force', 'disable the profile that is enabled now (forceDisableProfile); without it, enabling is refused while another profile is enabled'),
  )
    .addHelpText('after', '\nExample:\n  esim profile enable 8949000000000000001F --force')
    .action(async (iccid: string, opts: CommonOpts & { force?: boolean }) => {
      await withService(io, opts, async ({ esim }, out) => {
        const code = await esim.switchToProfile(opts.slot, opts.port, iccid, opts.force === true);
        await simpleResult(io, out, `enabling ${iccid}`, { slot: opts.slot, port: opts.port, iccid }, code, `enabled ${iccid} on slot ${opts.slot}`);
      });
    });

  withCommonOptions(profile.command('disable').argument('<iccid>', 'ICCID of the profile', iccidArg).description('disable a profile'))
    .addHelpText('after', '\nExample:\n  esim profile disable 8949000000000000001F')
    .action(async (iccid: string, opts: CommonOpts) => {
      await withService(io, opts, async ({ esim }, out) => {
        const code = await esim.disableProfile(opts.slot, opts.port, iccid);
        await simpleResult(io, out, `disabling ${iccid}`, { slot: opts.slot, port: opts.port, iccid }, code, `disabled ${iccid} on slot ${opts.slot}`);
      });
    });

  withCommonOptions(profile.command('delete').argument('<iccid>', 'ICCID of the profile', iccidArg).description('delete a (disabled) profile'))
    .addHelpText('after', '\nExample:\n  esim profile delete 8949000000000000001F')
    .action(async (iccid: string, opts: CommonOpts) => {
      await withService(io, opts, async ({ esim }, out) => {
        const code = await esim.deleteProfile(opts.slot, iccid);
        await simpleResult(io, out, `deleting ${iccid}`, { slot: opts.slot, iccid }, code, `deleted ${iccid} from slot ${opts.slot}`);
      });
    });

  withCommonOptions(
    profile
      .command('nickname')
      .argument('<iccid>', 'ICCID of the profile', iccidArg)
      .argument('<name>', 'the new nickname (at most 64 UTF-8 bytes; "" clears it)')
      .description('set the nickname of a profile'),
  )
    .addHelpText('after', "\nExample:\n  esim profile nickname 8949000000000000001F 'Work'")
    .action(async (iccid: string, name: string, opts: CommonOpts) => {
      await withService(io, opts, async ({ esim }, out) => {
        const code = await esim.setProfileNickname(opts.slot, iccid, name);
        await simpleResult(io, out, `renaming ${iccid}`, { slot: opts.slot, iccid, nickname: name }, code, `nickname of ${iccid}: ${name === '' ? '(none)' : name}`);
      });
    });

  withCommonOptions(
    profile
      .command('download')
      .description("download a profile from an activation code, an SM-DP+ address and matching id, a QR image, or the card's default SM-DP+")
      .option('-a, --activation-code <code>', "activation code ('LPA:1$<smdp>$<matchingId>')")
      .option('-s, --smdp <address>', 'SM-DP+ address (host[:port])')
      .option('-m, --matching-id <id>', 'matching id (with -s)')
      .option('-c, --confirmation-code <code>', 'confirmation code (asked on the terminal when needed and not given)')
      .option('--qr <image>', 'a PNG or JPEG image of the activation code QR')
      .option('--preview', 'show the profile metadata and ask before installing')
      .option('--yes', 'with --preview: install without asking')
      .option('--accept-ppr', "consent to the profile's policy rules (PPR) when the device asks for it")
      .option('--enable', 'enable the profile after the download')
      .option('--force', 'with --enable: disable the profile that is enabled now'),
  )
    .addHelpText(
      'after',
      "\nExamples:\n  esim profile download -a 'LPA:1$smdp.example.com$04386-AGYFT-A74Y8-3F815'\n  esim profile download -s smdp.example.com -m 04386-AGYFT-A74Y8-3F815 -c 1234 --enable --force\n  esim profile download --qr code.png --preview\n\nWithout -a/-s/--qr the card's default SM-DP+ is asked for a profile bound to its EID.\nCtrl-C cancels the download (the eUICC and the SM-DP+ end the session); the exit code is then 130.",
    )
    .action(async (opts: DownloadOpts) => {
      const source = await precheck(outFor(io, opts.json), async () => {
        if (opts.preview && !opts.yes && !canAsk(io)) throw new CliUsageError('--preview asks before installing: run it on a terminal, or pass --yes');
        return activationCodeOf(opts);
      });
      await withService(io, opts, async ({ esim }, out) => {
        let ac = source;
        if (ac === undefined) {
          const address = await esim.getDefaultSmdpAddress(opts.slot);
          if (address === '') throw new CliUsageError('no activation code given and the eUICC has no default SM-DP+ address: use -a, -s or --qr');
          ac = parseCode(`LPA:1$${address}$`, "the eUICC's default SM-DP+ address");
        }
        let confirmationCode = opts.confirmationCode;
        const askCode = async (): Promise<string | undefined> => {
          if (!canAsk(io)) return undefined;
          const c = await ask(io, 'Confirmation code: ', { secret: true });
          return c === undefined || c.trim() === '' ? undefined : c.trim();
        };
        if (ac.ccRequired && confirmationCode === undefined) confirmationCode = await askCode();
        const dp = (): DownloadableProfile => ({ activationCode: ac.code, ...(confirmationCode !== undefined && { confirmationCode }) });
        const base: Record<string, unknown> = { slot: opts.slot, port: opts.port };
        let pprAllowed = opts.acceptPpr === true;

        if (opts.preview) {
          const m = await esim.getDownloadableProfileMetadata(opts.slot, opts.port, dp(), opts.force === true);
          if (m.responseResult !== ResultCode.RESULT_OK && m.responseResult !== ResultCode.RESULT_SOLVABLE_ERRORS) {
            if (out.json) printJson(out, { ...base, preview: null, resultCode: m.responseResult, result: resultName(m.responseResult), installed: false });
            throw refused('reading the profile metadata', m.responseResult);
          }
          const pv = previewJson(m, ac.ccRequired);
          base['preview'] = pv;
          if (!out.json) {
            io.stderr(
              'Profile to download:\n' +
                fields(out, [
                  ['  ICCID', pv.iccid],
                  ['  provider', pv.serviceProviderName],
                  ['  name', pv.profileName],
                  ['  class', pv.profileClass],
                  ['  policy rules', pv.policyRules.join(', ') || 'none'],
                  ['  confirmation code', pv.confirmationCodeRequired ? 'required' : 'not required'],
                ]),
            );
          }
          const declined = (why: string): never => {
            if (out.json) printJson(out, { ...base, accepted: false, installed: false });
            throw new CliExitError(`${why}: nothing was installed`, EXIT.FAILURE);
          };
          if (pv.confirmationCodeRequired && confirmationCode === undefined) {
            confirmationCode = opts.yes ? undefined : await askCode();
            if (confirmationCode === undefined) {
              if (out.json) printJson(out, { ...base, accepted: false, installed: false });
              throw new CliExitError('the SM-DP+ asks for a confirmation code: pass -c <code>', EXIT.REFUSED);
            }
          }
          if (pv.pprConsentRequired && !pprAllowed) {
            if (opts.yes) {
              if (out.json) printJson(out, { ...base, accepted: false, installed: false });
              throw new CliExitError(`the profile has policy rules (${pv.policyRules.join(', ')}) that need your consent: pass --accept-ppr`, EXIT.REFUSED);
            }
            pprAllowed = await confirm(io, `This profile has policy rules (${pv.policyRules.join(', ')}). Do you consent to them?`);
            if (!pprAllowed) declined('policy rules not accepted');
          }
          if (!opts.yes && !(await confirm(io, `Install this profile on slot ${opts.slot}?`))) declined('download declined');
          base['accepted'] = true;
        }

        const config: DownloadConfiguration = { switchAfterDownload: opts.enable === true, forceDisableProfile: opts.force === true, isPprAllowed: pprAllowed };
        const o = await trackedDownload(esim, io, out, opts.slot, () => esim.downloadProfile(opts.slot, opts.port, dp(), config));
        if (o.iccid === undefined && o.result.responseResult === ResultCode.RESULT_OK && base['preview']) o.iccid = (base['preview'] as PreviewJson).iccid;
        reportDownload(io, out, base, o, opts.enable === true);
      });
    });

  withCommonOptions(profile.command('discovery').description('profiles waiting for this eUICC on its default SM-DP+ and root SM-DS'))
    .addHelpText('after', '\nExample:\n  esim profile discovery --json\n\nDownload one with: esim profile download -a <activation code>')
    .action(async (opts: CommonOpts) => {
      await withService(io, opts, async ({ esim }, out) => {
        const r = await esim.getDownloadableProfiles(opts.slot, opts.port, false);
        const profiles = r.downloadableProfiles.map((p) => {
          let smdpAddress = '';
          let matchingId = '';
          try {
            const ac = parseActivationCode(p.activationCode);
            smdpAddress = ac.smdpAddress;
            matchingId = ac.acToken;
          } catch {
            /* shown as given */
          }
          return { activationCode: p.activationCode, smdpAddress, matchingId, ...(p.carrierName !== undefined && { carrierName: p.carrierName }) };
        });
        if (out.json) printJson(out, { slot: opts.slot, resultCode: r.responseResult, result: resultName(r.responseResult), profiles });
        if (r.responseResult !== ResultCode.RESULT_OK) throw refused('discovery', r.responseResult);
        if (out.json) return;
        if (profiles.length === 0) {
          io.stdout(`no profiles waiting for slot ${opts.slot}\n`);
          return;
        }
        io.stdout(table(out, ['SM-DP+', 'MATCHING ID', 'ACTIVATION CODE'], profiles.map((p) => [p.smdpAddress, p.matchingId, p.activationCode])));
      });
    });

  // ---------------------------------------------------------------------------------------- addProfile queue
  const pending = profile
    .command('pending')
    .description('profiles apps asked to add (addProfile), waiting for your confirmation')
    .addHelpText('after', '\nExamples:\n  esim profile pending\n  esim profile pending accept 3f2a --enable\n  esim profile pending reject 3f2a');

  withCommonOptions(pending.command('list', { isDefault: true }).description('the waiting requests'))
    .addHelpText('after', '\nExample:\n  esim profile pending list --json')
    .action(async (opts: CommonOpts) => {
      await withService(io, opts, async ({ esim }, out) => {
        const list = await esim.listPendingAdds();
        const items = list.map((p) => ({
          id: p.id,
          slot: p.slotId,
          smdpAddress: p.smdpAddress,
          carrierName: p.carrierName ?? null,
          hasConfirmationCode: p.hasConfirmationCode,
          caller: p.caller,
          createdAt: new Date(p.createdAt).toISOString(),
        }));
        if (out.json) {
          printJson(out, { pending: items });
          return;
        }
        if (items.length === 0) {
          io.stdout('no pending requests\n');
          return;
        }
        io.stdout(
          table(
            out,
            ['ID', 'SLOT', 'SM-DP+', 'CARRIER', 'CODE', 'FROM', 'ASKED'],
            items.map((p) => [p.id, String(p.slot), p.smdpAddress, p.carrierName ?? '', p.hasConfirmationCode ? 'yes' : 'no', p.caller, p.createdAt]),
          ),
        );
      });
    });

  withCommonOptions(
    pending
      .command('accept')
      .argument('<id>', 'the request id (profile pending list)')
      .description('download the profile of a waiting request')
      .option('--accept-ppr', "consent to the profile's policy rules (PPR)")
      .option('--enable', 'enable the profile after the download')
      .option('--force', 'with --enable: disable the profile that is enabled now'),
  )
    .addHelpText('after', '\nExample:\n  esim profile pending accept 3f2a --enable --force')
    .action(async (id: string, opts: CommonOpts & { acceptPpr?: boolean; enable?: boolean; force?: boolean }) => {
      await withService(io, opts, async ({ esim }, out) => {
        const slotOf = (await esim.listPendingAdds()).find((p) => p.id === id)?.slotId ?? opts.slot;
        const cfg = { switchAfterDownload: opts.enable === true, forceDisableProfile: opts.force === true, isPprAllowed: opts.acceptPpr === true };
        const o = await trackedDownload(esim, io, out, slotOf, () => esim.resolvePendingAdd(id, true, cfg));
        reportDownload(io, out, { id, slot: slotOf, accepted: true }, o, opts.enable === true);
      });
    });

  withCommonOptions(pending.command('reject').argument('<id>', 'the request id (profile pending list)').description('drop a waiting request'))
    .addHelpText('after', '\nExample:\n  esim profile pending reject 3f2a')
    .action(async (id: string, opts: CommonOpts) => {
      await withService(io, opts, async ({ esim }, out) => {
        await esim.resolvePendingAdd(id, false);
        if (out.json) printJson(out, { id, accepted: false });
        else io.stdout(`request ${id} rejected\n`);
      });
    });
}
