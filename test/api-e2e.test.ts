/**
 * Issue 6, "each function's success and main ResultCode outcomes end to end on the embedded default,
 * in-process and through the daemon": ONE scenario over the public API (an `ESim` from createESim) that calls
 * every one of the 18 seed functions with its success outcome and its main ResultCode outcomes, recording each
 * outcome in a plain object. It runs twice, each time on a fresh temporary ESIM_HOME that the first start turns
 * into the embedded default (two software eUICCs, the demo SM-DP+ and SM-DS on 127.0.0.1):
 *   - in-process: `createESim({ caller: SHELL_CALLER, home })`;
 *   - through the daemon: `runDaemon({ home })` in this process, `createESim({ socket, token })` with the home's
 *     shell token (the daemon's debug log proves every call went over the socket).
 * Each run's record is checked against EXPECTED, and the two records must be equal. Values that differ by
 * nature between two homes (EIDs, ICCIDs, matching and event ids, transactionIds, the demo servers' ports,
 * the pending request's id) are replaced by named tokens first; each is shape-checked when named, and named
 * from the service's own truth where there is one (the cards' EIDs, the SM-DP+ orders' ICCIDs, the SM-DS
 * events), so that a wrong value stays raw and fails the comparison.
 *
 * The service behind the API is reached only for that truth, for a fault rule that slows one download (so
 * that cancelSession lands while it runs, also over the socket), and for the idle/channel check at the end.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { acquireService, openServiceHomes } from '../src/api/client.js';
import { createESim, eSIM, type ESim } from '../src/api/esim.js';
import { runDaemon } from '../src/service/daemon.js';
import { readShellToken } from '../src/service/home.js';
import { PUBLIC_FUNCTIONS, SHELL_CALLER, SYSTEM_FUNCTIONS, type DownloadProgressEvent, type ProfileChangeEvent } from '../src/service/protocol.js';
import type { EsimService } from '../src/service/service.js';
import { demoActivationCodes } from './support/daemon.js';
import { cardOf, openChannelCount } from './support/service.js';

const scratch = mkdtempSync(join(tmpdir(), 'esimkit-api-e2e-'));
process.env.ESIM_HOME = join(scratch, 'unused-default-home'); // nothing here may touch ~/.esimkit
delete process.env.ESIM_SOCKET;
delete process.env.ESIM_TOKEN;

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

const { ResultCode, ResetOption, OsuStatus, ProfileState, ProfileClass, CancelReason } = eSIM;
const NO_SWITCH = { switchAfterDownload: false, forceDisableProfile: false, isPprAllowed: false };
const UNKNOWN_ICCID = '89490000000000000000';
const UNKNOWN_TID = '00112233445566778899AABBCCDDEEFF';
const SEED_FUNCTIONS: readonly string[] = [...SYSTEM_FUNCTIONS, ...PUBLIC_FUNCTIONS];

type Outcomes = Record<string, unknown>;

/** What a run gives the scenario beside the API: the home, and the service behind the API (for its truth and one fault rule). */
interface Rig {
  readonly home: string;
  service(): Promise<EsimService>;
}

/** Values that differ by nature between two homes → named tokens (raw value → token), each shape-checked. */
class Names {
  readonly map = new Map<string, string>();
  add(raw: string, token: string, shape: RegExp): void {
    expect(raw, token).toMatch(shape);
    const had = this.map.get(raw);
    if (had !== undefined && had !== token) throw new Error(`${token}: the value is already named ${had}`);
    this.map.set(raw, token);
  }
  /** A deep copy of `v` with every named value (also inside longer strings, e.g. activation codes) replaced. */
  normalise(v: unknown): unknown {
    const names = [...this.map.entries()].sort((a, b) => b[0].length - a[0].length);
    const walk = (x: unknown): unknown => {
      if (typeof x === 'string') {
        let s = x;
        for (const [raw, token] of names) s = s.split(raw).join(token);
        return s;
      }
      if (Array.isArray(x)) return x.map(walk);
      if (typeof x === 'object' && x !== null) return Object.fromEntries(Object.entries(x).map(([k, y]) => [k, walk(y)]));
      return x;
    };
    return walk(v);
  }
}

/** The API with every call's function name recorded (to prove all 18 were called). */
function tracked(api: ESim): { api: ESim; called: Set<string> } {
  const called = new Set<string>();
  const o: Record<string, unknown> = {};
  for (const [k, f] of Object.entries(api)) {
    o[k] = typeof f === 'function' ? (...a: unknown[]) => (called.add(k), (f as (...x: unknown[]) => unknown)(...a)) : f;
  }
  Object.defineProperty(o, 'backend', { get: () => api.backend });
  return { api: o as unknown as ESim, called };
}

/** Consecutive duplicates dropped (installing done/total repeats per segment). */
function steps(events: readonly DownloadProgressEvent[]): string[] {
  return events.map((e) => e.step).filter((s, i, a) => i === 0 || a[i - 1] !== s);
}

// ------------------------------------------------------------------------------------------ the scenario

async function scenario(api: ESim, rig: Rig): Promise<{ outcomes: Outcomes; names: Names }> {
  const o: Outcomes = {};
  const names = new Names();

  // isSupported answers before the backend is open (slots.json) and after (the service)
  const beforeOpen = [0, 1, 2].map((s) => api.isSupported(s));
  const progress: DownloadProgressEvent[] = [];
  const changes: ProfileChangeEvent[] = [];
  api.on('downloadProgress', (e) => progress.push(e));
  api.on('profileChange', (e) => changes.push(e));
  await api.ready();
  o['isSupported'] = { beforeOpen, afterOpen: [0, 1, 2].map((s) => api.isSupported(s)) };

  // the truth behind the API: the demo servers' addresses and codes, the cards, the orders, the SM-DS events
  const svc = await rig.service();
  const smdp = svc.demo!.smdpAddress;
  names.add(smdp, '<SMDP>', /^localhost:\d+$/);
  names.add(svc.demo!.smdsAddress, '<SMDS>', /^localhost:\d+$/);
  const activationCodes = demoActivationCodes(rig.home); // home/demo.json: the three free orders
  const cards = [await cardOf(svc, 0), await cardOf(svc, 1)];
  cards.forEach((c, i) => names.add(c.eid, `<EID${i}>`, /^[0-9]{32}$/));
  expect(activationCodes).toHaveLength(3);
  const iccidOf = (code: string): string => svc.demo!.smdp.inventory.order(code.slice(`LPA:1$${smdp}$`.length))!.iccid;
  const [code0, code1, code2] = activationCodes as [string, string, string];
  activationCodes.forEach((c, i) => {
    const mid = c.slice(`LPA:1$${smdp}$`.length);
    expect(c).toBe(`LPA:1$${smdp}$${mid}`);
    names.add(mid, `<MID${i}>`, /^[0-9A-Za-z-]{8,}$/);
    names.add(iccidOf(c), `<ICCID${i}>`, /^89[0-9]{17,18}$/);
  });
  const events0 = svc.demo!.smds.events.eventsFor(cards[0]!.eid);
  expect(events0).toHaveLength(1);
  names.add(events0[0]!.eventId, '<EVENT0>', /^[0-9A-Za-z-]{8,}$/);
  const iccid0 = iccidOf(code0);
  const iccid1 = iccidOf(code1);
  const list = async (slotId: number): Promise<eSIM.GetEuiccProfileInfoListResult> => api.getEuiccProfileInfoList(slotId);

  // getEid: 32 digits, the card's own EID, one per card
  o['getEid'] = { slot0: await api.getEid(0), slot1: await api.getEid(1), again0: await api.getEid(0) };

  // getEuiccInfo: the card OS version, as EUICCInfo2 (extension) and listSlots (extension) tell
  o['getEuiccInfo'] = {
    slot0: await api.getEuiccInfo(0),
    info2FirmwareVersion: (await api.getEuiccInfo2(0))['firmwareVersion'],
    listSlots: await api.listSlots(),
  };

  // getEuiccProfileInfoList on fresh cards
  o['getEuiccProfileInfoList'] = { fresh: await list(0) };

  // getDefaultSmdpAddress / setDefaultSmdpAddress
  o['defaultSmdp'] = {
    get0: await api.getDefaultSmdpAddress(0),
    set1: await api.setDefaultSmdpAddress(1, 'smdp.example.com:8443'),
    get1: await api.getDefaultSmdpAddress(1),
    restore1: await api.setDefaultSmdpAddress(1, smdp),
    get1Restored: await api.getDefaultSmdpAddress(1),
  };

  // getDownloadableProfiles: the default-SM-DP+ entry and the SM-DS event of this card
  o['getDownloadableProfiles'] = await api.getDownloadableProfiles(0, 0, false);

  // getDownloadableProfileMetadata: the metadata, nothing installed; an unknown matching id 231
  o['getDownloadableProfileMetadata'] = {
    ok: await api.getDownloadableProfileMetadata(0, 0, { activationCode: code0 }, false),
    installedAfter: (await list(0)).profiles.length,
    unknownMatchingId: await api.getDownloadableProfileMetadata(0, 0, { activationCode: `LPA:1$${smdp}$NO-SUCH-ORDER` }, false),
  };

  // downloadProfile: installed (disabled), its progress; the used code again; a second one switched to
  const from = progress.length;
  const first = await api.downloadProfile(0, 0, { activationCode: code0 }, NO_SWITCH);
  const firstEvents = progress.slice(from);
  const tid = firstEvents.find((e) => e.transactionId !== undefined)?.transactionId;
  names.add(tid ?? '', '<TID:download0>', /^[0-9A-F]{32}$/);
  const afterFirst = await list(0);
  const usedAgain = await api.downloadProfile(0, 0, { activationCode: code0 }, NO_SWITCH);
  const afterUsedAgain = (await list(0)).profiles.length;
  const switched = await api.downloadProfile(0, 0, { activationCode: code1 }, { switchAfterDownload: true, forceDisableProfile: true, isPprAllowed: false });
  o['downloadProfile'] = {
    first,
    progressSteps: steps(firstEvents),
    progressLast: firstEvents.at(-1),
    everyEventCarriesTid: firstEvents.filter((e) => e.step !== 'authenticating').every((e) => e.transactionId === tid),
    listAfterFirst: afterFirst,
    usedCodeAgain: usedAgain,
    usedCodeAgainListSize: afterUsedAgain,
    withSwitch: switched,
    statesAfterSwitch: (await list(0)).profiles.map((p) => [p.iccid, p.state]),
    runningAfter: await api.runningDownloads(0),
  };

  // addProfile: queued (true) for the user's confirmation; the queue (extensions) shows it without the code
  const added = await api.addProfile({ activationCode: code2, carrierName: 'Carrier' });
  const pending = await api.listPendingAdds();
  expect(pending).toHaveLength(1);
  names.add(pending[0]!.id, '<PENDING0>', /^\S+$/);
  expect(Math.abs(pending[0]!.createdAt - Date.now())).toBeLessThan(600_000);
  o['addProfile'] = {
    added,
    pending: pending.map((p) => ({ ...p, createdAt: typeof p.createdAt })),
    pendingShowsNoCode: !JSON.stringify(pending).includes(code2.slice(`LPA:1$${smdp}$`.length)),
    rejected: await api.resolvePendingAdd(pending[0]!.id, false),
    pendingAfter: await api.listPendingAdds(),
    installed: (await list(0)).profiles.length,
  };

  // switchToProfile: the second profile is enabled now
  o['switchToProfile'] = {
    noForceWhileAnotherEnabled: await api.switchToProfile(0, 0, iccid0, false),
    statesUnchanged: (await list(0)).profiles.map((p) => [p.iccid, p.state]),
    force: await api.switchToProfile(0, 0, iccid0, true),
    statesAfter: (await list(0)).profiles.map((p) => [p.iccid, p.state]),
    alreadyEnabled: await api.switchToProfile(0, 0, iccid0, false),
    unknownIccid: await api.switchToProfile(0, 0, UNKNOWN_ICCID, true),
  };

  // setProfileNickname
  o['setProfileNickname'] = {
    ok: await api.setProfileNickname(0, iccid1, 'Reise ✓'),
    nickNames: (await list(0)).profiles.map((p) => [p.iccid, p.nickName]),
    unknownIccid: await api.setProfileNickname(0, UNKNOWN_ICCID, 'x'),
  };

  // deleteProfile: the enabled one -1, the disabled one 0, then 270
  o['deleteProfile'] = {
    enabled: await api.deleteProfile(0, iccid0),
    disabled: await api.deleteProfile(0, iccid1),
    left: (await list(0)).profiles.map((p) => [p.iccid, p.state]),
    again: await api.deleteProfile(0, iccid1),
  };

  // cancelSession: an unknown transactionId → the card's 215; a running download (slot 1, the third code),
  // cancelled by the transactionId of its progress events → 0, and the download resolves 218. The card holds
  // its first BPP segment back for a while so that the cancel lands mid-download, also over the socket.
  const unknownTid = await api.cancelSession(0, UNKNOWN_TID, CancelReason.CANCEL_REASON_END_USER_REJECTION);
  const slow = cards[1]!.faults.add({ match: { es10Tag: 0xbf36, nth: 1 }, action: { kind: 'delay', ms: 1500 } });
  let cancelled: Promise<eSIM.ResultCode> | undefined;
  let runningWhile: Promise<eSIM.RunningDownload[]> | undefined;
  let cancelTid: string | undefined;
  const onProgress = (e: DownloadProgressEvent): void => {
    if (e.slotId === 1 && e.step === 'downloading' && e.transactionId !== undefined && cancelled === undefined) {
      cancelTid = e.transactionId;
      runningWhile = api.runningDownloads(1);
      cancelled = api.cancelSession(1, e.transactionId, CancelReason.CANCEL_REASON_END_USER_REJECTION);
    }
  };
  api.on('downloadProgress', onProgress);
  const cFrom = progress.length;
  let download: eSIM.DownloadProfileResult;
  try {
    download = await api.downloadProfile(1, 0, { activationCode: code2 }, NO_SWITCH);
  } finally {
    api.off('downloadProgress', onProgress);
    cards[1]!.faults.remove(slow);
  }
  expect(cancelled, 'the download never reached the downloading step with a transactionId').toBeDefined();
  names.add(cancelTid!, '<TID:cancelled>', /^[0-9A-F]{32}$/);
  o['cancelSession'] = {
    unknownTransactionId: unknownTid,
    running: await cancelled,
    // asked right after the event; on a slow host the download may be in its (held back) first segment already
    runningDownloadsWhile: (await runningWhile!).map((d) => ({ ...d, step: ['downloading', 'installing'].includes(d.step) ? 'downloading|installing' : d.step })),
    download,
    progressLast: progress.slice(cFrom).filter((e) => e.slotId === 1).at(-1),
    installedOnSlot1: (await list(1)).profiles.length,
    runningAfter: await api.runningDownloads(1),
  };

  // getOsuStatus / startOsu (slot 1): already latest before; the newer signed image of home/osu installs
  o['osu'] = {
    statusBefore: await api.getOsuStatus(1),
    osBefore: await api.getEuiccInfo(1),
    start: await api.startOsu(1),
    statusAfter: await api.getOsuStatus(1),
    osAfter: await api.getEuiccInfo(1),
    startAgain: await api.startOsu(1),
    statusAfterAgain: await api.getOsuStatus(1),
  };

  // reserveProfilesForFactoryRestore
  o['reserveProfilesForFactoryRestore'] = { slot0: await api.reserveProfilesForFactoryRestore(0), flag: svc.store.getFactoryReserve(0) };

  // resetMemory honours ResetOption: slot 0 holds one operational profile (enabled)
  o['resetMemory'] = {
    testProfilesOnly: await api.resetMemory(0, ResetOption.DELETE_FIELD_LOADED_TEST_PROFILES),
    afterTestOnly: (await list(0)).profiles.map((p) => p.iccid),
    defaultOption: await api.resetMemory(0),
    afterDefault: await list(0),
    operationalAgain: await api.resetMemory(0, ResetOption.DELETE_OPERATIONAL_PROFILES),
    defaultSmdp: await api.resetMemory(0, ResetOption.RESET_DEFAULT_SMDP_ADDRESS),
    defaultSmdpAfter: await api.getDefaultSmdpAddress(0),
    defaultSmdpAgain: await api.resetMemory(0, ResetOption.RESET_DEFAULT_SMDP_ADDRESS),
  };

  // every profile change the API reported, in order
  o['profileChangeEvents'] = changes;

  // the service ends idle with no logical channel left open
  await svc.whenIdle();
  o['openChannels'] = cards.map((c) => openChannelCount(c));
  api.off('downloadProgress');
  api.off('profileChange');
  return { outcomes: o, names };
}

// ------------------------------------------------------------------------------------------ expectations

const profile = (iccid: string, n: number, state: number, nickName = ''): eSIM.EuiccProfile => ({
  iccid,
  nickName,
  serviceProviderName: 'esimkit',
  profileName: `esimkit Demo ${n} (activation code)`,
  state,
  profileClass: ProfileClass.PROFILE_CLASS_OPERATIONAL,
  operatorId: { mcc: '', mnc: '', gid1: '', gid2: '' },
  policyRules: 0 as eSIM.PolicyRules, // no PPR
  accessRules: [],
});
const { PROFILE_STATE_ENABLED: ON, PROFILE_STATE_DISABLED: OFF } = ProfileState;

/** Every run's normalised record (the demo content numbers its profiles: 4 bound to the two EIDs, then the free codes 5, 6, 7). */
const EXPECTED: Outcomes = {
  isSupported: { beforeOpen: [true, true, false], afterOpen: [true, true, false] },
  getEid: { slot0: '<EID0>', slot1: '<EID1>', again0: '<EID0>' },
  getEuiccInfo: {
    slot0: { osVersion: '1.0.0' },
    info2FirmwareVersion: '1.0.0',
    listSlots: [0, 1].map((slotId) => ({ slotId, transport: 'virtual', ports: 1, removable: false, hasEuicc: true, osuProvider: true })),
  },
  getEuiccProfileInfoList: { fresh: { responseResult: ResultCode.RESULT_OK, profiles: [], isRemovable: false } },
  defaultSmdp: { get0: '<SMDP>', set1: ResultCode.RESULT_OK, get1: 'smdp.example.com:8443', restore1: ResultCode.RESULT_OK, get1Restored: '<SMDP>' },
  getDownloadableProfiles: {
    responseResult: ResultCode.RESULT_OK,
    downloadableProfiles: [
      { activationCode: 'LPA:1$<SMDP>$', accessRules: [] },
      { activationCode: 'LPA:1$<SMDP>$<EVENT0>', accessRules: [] },
    ],
  },
  getDownloadableProfileMetadata: {
    ok: {
      downloadableProfile: { activationCode: 'LPA:1$<SMDP>$<MID0>' },
      pprType: 0,
      pprFlag: false,
      iccid: '<ICCID0>',
      serviceProviderName: 'esimkit',
      profileName: 'esimkit Demo 5 (activation code)',
      profileClass: ProfileClass.PROFILE_CLASS_OPERATIONAL,
      solvableErrors: 0,
      responseResult: ResultCode.RESULT_OK,
    },
    installedAfter: 0,
    unknownMatchingId: {
      downloadableProfile: { activationCode: 'LPA:1$<SMDP>$NO-SUCH-ORDER' },
      pprType: 0,
      pprFlag: false,
      iccid: '',
      serviceProviderName: '',
      profileName: '',
      profileClass: ProfileClass.PROFILE_CLASS_UNSPECIFIED,
      solvableErrors: 0,
      responseResult: ResultCode.RESULT_ANALYZE_AUTHENTICATION_CLIENT_MATCHING_ID_REFUSED,
    },
  },
  downloadProfile: {
    first: { responseResult: ResultCode.RESULT_OK, solvableErrors: 0, cardId: 0 },
    progressSteps: ['authenticating', 'downloading', 'installing', 'notifying', 'done'],
    progressLast: { slotId: 0, portIndex: 0, step: 'done', transactionId: '<TID:download0>', resultCode: ResultCode.RESULT_OK },
    everyEventCarriesTid: true,
    listAfterFirst: { responseResult: ResultCode.RESULT_OK, profiles: [profile('<ICCID0>', 5, OFF)], isRemovable: false },
    // the order was consumed by the first download: the SM-DP+ refuses its matching id
    usedCodeAgain: { responseResult: ResultCode.RESULT_ANALYZE_AUTHENTICATION_CLIENT_MATCHING_ID_REFUSED, solvableErrors: 0, cardId: 0 },
    usedCodeAgainListSize: 1,
    withSwitch: { responseResult: ResultCode.RESULT_OK, solvableErrors: 0, cardId: 0 },
    statesAfterSwitch: [
      ['<ICCID0>', OFF],
      ['<ICCID1>', ON],
    ],
    runningAfter: [],
  },
  addProfile: {
    added: true,
    pending: [{ id: '<PENDING0>', slotId: 0, smdpAddress: '<SMDP>', carrierName: 'Carrier', hasConfirmationCode: false, caller: 'shell', createdAt: 'number' }],
    pendingShowsNoCode: true,
    rejected: null,
    pendingAfter: [],
    installed: 2,
  },
  switchToProfile: {
    noForceWhileAnotherEnabled: ResultCode.RESULT_MUST_DISABLE_PROFILE,
    statesUnchanged: [
      ['<ICCID0>', OFF],
      ['<ICCID1>', ON],
    ],
    force: ResultCode.RESULT_OK,
    statesAfter: [
      ['<ICCID0>', ON],
      ['<ICCID1>', OFF],
    ],
    alreadyEnabled: ResultCode.RESULT_OK,
    unknownIccid: ResultCode.RESULT_NOTHING_TO_DELETE,
  },
  setProfileNickname: {
    ok: ResultCode.RESULT_OK,
    nickNames: [
      ['<ICCID0>', ''],
      ['<ICCID1>', 'Reise ✓'],
    ],
    unknownIccid: ResultCode.RESULT_NOTHING_TO_DELETE,
  },
  deleteProfile: {
    enabled: ResultCode.RESULT_MUST_DISABLE_PROFILE,
    disabled: ResultCode.RESULT_OK,
    left: [['<ICCID0>', ON]],
    again: ResultCode.RESULT_NOTHING_TO_DELETE,
  },
  cancelSession: {
    unknownTransactionId: ResultCode.RESULT_TRANSACTION_ID_INVALID,
    running: ResultCode.RESULT_OK,
    runningDownloadsWhile: [{ transactionId: '<TID:cancelled>', step: 'downloading|installing' }],
    download: { responseResult: ResultCode.RESULT_USER_CANCEL_DOWNLOAD, solvableErrors: 0, cardId: 1 },
    progressLast: { slotId: 1, portIndex: 0, step: 'failed', transactionId: '<TID:cancelled>', resultCode: ResultCode.RESULT_USER_CANCEL_DOWNLOAD },
    installedOnSlot1: 0,
    runningAfter: [],
  },
  osu: {
    statusBefore: OsuStatus.EUICC_UPGRADE_ALREADY_LATEST,
    osBefore: { osVersion: '1.0.0' },
    start: OsuStatus.EUICC_UPGRADE_SUCCESSFUL,
    statusAfter: OsuStatus.EUICC_UPGRADE_SUCCESSFUL,
    osAfter: { osVersion: '1.1.0' },
    startAgain: OsuStatus.EUICC_UPGRADE_ALREADY_LATEST,
    statusAfterAgain: OsuStatus.EUICC_UPGRADE_ALREADY_LATEST,
  },
  reserveProfilesForFactoryRestore: { slot0: ResultCode.RESULT_OK, flag: true },
  resetMemory: {
    testProfilesOnly: ResultCode.RESULT_NOTHING_TO_DELETE,
    afterTestOnly: ['<ICCID0>'],
    defaultOption: ResultCode.RESULT_OK,
    afterDefault: { responseResult: ResultCode.RESULT_OK, profiles: [], isRemovable: false },
    operationalAgain: ResultCode.RESULT_NOTHING_TO_DELETE,
    defaultSmdp: ResultCode.RESULT_OK,
    defaultSmdpAfter: '',
    defaultSmdpAgain: ResultCode.RESULT_NOTHING_TO_DELETE,
  },
  profileChangeEvents: [
    { slotId: 0, portIndex: 0, iccid: '<ICCID0>', change: 'installed' },
    { slotId: 0, portIndex: 0, iccid: '<ICCID1>', change: 'installed' },
    { slotId: 0, portIndex: 0, iccid: '<ICCID1>', change: 'enabled' }, // switchAfterDownload; nothing was enabled before
    { slotId: 0, portIndex: 0, iccid: '<ICCID1>', change: 'disabled' }, // switchToProfile(<ICCID0>, force)
    { slotId: 0, portIndex: 0, iccid: '<ICCID0>', change: 'enabled' },
    { slotId: 0, iccid: '<ICCID1>', change: 'nickname' },
    { slotId: 0, iccid: '<ICCID1>', change: 'deleted' },
    { slotId: 0, iccid: '<ICCID0>', change: 'deleted' }, // resetMemory(0): operational profiles
    { slotId: 0, iccid: '', change: 'reset' },
    { slotId: 0, iccid: '', change: 'reset' }, // resetMemory(0, RESET_DEFAULT_SMDP_ADDRESS)
  ],
  openChannels: [0, 0],
};

// ------------------------------------------------------------------------------------------ the two runs

interface Run {
  readonly normalised: Outcomes;
  readonly eids: string[];
}
const runs: { inProcess?: Run; daemon?: Run } = {};
/** The process's active handles/requests by type (sorted), before anything of this file ran (taken inside a test: vitest's own test timer counts in both). */
let baseline: string[] | undefined;
const resources = (): string[] => process.getActiveResourcesInfo().sort();
/** Let handles that are closing finish (their close callbacks run in a later loop turn). */
async function loopTurns(n = 3): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise<void>((r) => setImmediate(r));
}

function check(outcomes: Outcomes, names: Names, called: Set<string>): Run {
  expect(SEED_FUNCTIONS.filter((f) => !called.has(f)), 'seed functions the scenario did not call').toEqual([]);
  expect(SEED_FUNCTIONS).toHaveLength(18);
  const normalised = names.normalise(outcomes) as Outcomes;
  for (const key of Object.keys(EXPECTED)) expect(normalised[key], key).toEqual(EXPECTED[key]);
  expect(Object.keys(normalised).sort()).toEqual(Object.keys(EXPECTED).sort());
  const eids = [...names.map.entries()].filter(([, t]) => t.startsWith('<EID')).map(([raw]) => raw);
  return { normalised, eids };
}

describe('the 18 functions end to end on the embedded default, in-process and through the daemon', () => {
  it('in-process: createESim({ caller: SHELL_CALLER, home }) on a fresh home', async () => {
    baseline = resources();
    const home = join(scratch, 'in-process');
    const { api, called } = tracked(createESim({ caller: SHELL_CALLER, home }));
    let held: Awaited<ReturnType<typeof acquireService>> | undefined;
    let result: Awaited<ReturnType<typeof scenario>>;
    try {
      result = await scenario(api, {
        home,
        service: async () => {
          held ??= await acquireService(home); // the instance's own shared service (same home, reference counted)
          return held.service;
        },
      });
    } finally {
      await held?.release();
      await api.close();
    }
    expect(openServiceHomes()).not.toContain(resolve(home)); // the last user closed it
    runs.inProcess = check(result.outcomes, result.names, called);
  });

  it('through the daemon: runDaemon({ home }) and createESim({ socket, token }) with the shell token', async () => {
    const home = join(scratch, 'daemon');
    const logs: Record<string, unknown>[] = [];
    const daemon = await runDaemon({ home, dashboardPort: 0, logLevel: 'debug', log: (l) => void logs.push(JSON.parse(l) as Record<string, unknown>) });
    expect(daemon.created).toBe(true);
    const { api, called } = tracked(createESim({ socket: daemon.socketPath, token: readShellToken(home), home }));
    let result: Awaited<ReturnType<typeof scenario>>;
    try {
      result = await scenario(api, { home, service: async () => daemon.service });
    } finally {
      await api.close();
      await daemon.stop();
    }
    await daemon.closed;
    // every seed function but the synchronous isSupported went over the socket
    const served = new Set(logs.filter((l) => l['event'] === 'call' && l['bundleName'] === 'shell').map((l) => l['fn'] as string));
    expect(SEED_FUNCTIONS.filter((f) => f !== 'isSupported' && !served.has(f))).toEqual([]);
    runs.daemon = check(result.outcomes, result.names, called);
  });

  it('both runs recorded the same outcomes, on different cards', () => {
    expect(runs.inProcess, 'the in-process run failed').toBeDefined();
    expect(runs.daemon, 'the daemon run failed').toBeDefined();
    expect(runs.daemon!.normalised).toEqual(runs.inProcess!.normalised);
    // two fresh homes: two pairs of cards
    expect(runs.daemon!.eids).toHaveLength(2);
    for (const eid of runs.daemon!.eids) expect(runs.inProcess!.eids).not.toContain(eid);
  });

  it('nothing is left open: no server, socket, timer or pending request beyond what the process had before', async () => {
    expect(baseline).toBeDefined();
    await loopTurns();
    expect(resources()).toEqual(baseline);
    expect(openServiceHomes()).toEqual([]);
  });
});
