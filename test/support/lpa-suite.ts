/**
 * The LPA suite: every ES10 client function of src/lpa/ run against the software eUICC through a given
 * {@link ApduTransport} (virtual, pcsc via vpcd, AT modem simulator), results checked field by field.
 *
 *   lpaSuite(name, setup, options?)
 *
 * `setup` is called once (beforeAll) and returns the transport and the SoftEuicc behind it — the same card,
 * used to seed profiles (test/support/stored-profiles.ts), to reset its state between tests, and to install
 * fault rules at the ES10 point (answers with result codes the software card never produces, garbage, SWs).
 * `teardown` runs in afterAll. Card state (profiles, notifications, default SM-DP+ address, fault rules) is
 * cleared before each test.
 *
 * Leak check: after every test the suite asks the card, through the transport, how many logical channels
 * it can still open ({@link probeFreeChannels}: MANAGE CHANNEL open until it fails, then close them all — or
 * openLogicalChannel/closeLogicalChannel on channel transports). It must be all 19.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ApduChannel, EuiccSwError, ISDR_AID, type ApduChannelOptions } from '../../src/apdu/channel.js';
import { parseCommandApdu, parseResponse } from '../../src/apdu/apdu.js';
import { TransportError, type ApduTransport } from '../../src/apdu/transport.js';
import type { SoftEuicc } from '../../src/euicc/card.js';
import { extCardResource } from '../../src/euicc/es10b.js';
import {
  cancelSession,
  deleteProfile,
  disableProfile,
  enableProfile,
  EuiccResponseError,
  Es10ResultError,
  euiccMemoryReset,
  getEid,
  getEuiccChallenge,
  getEuiccConfiguredAddresses,
  getEuiccInfo1,
  getEuiccInfo2,
  getProfilesInfo,
  getRat,
  listNotifications,
  removeNotification,
  retrieveNotifications,
  setDefaultDpAddress,
  setNickname,
  type ProfileInfo,
} from '../../src/lpa/index.js';
import { encodeTlv } from '../../src/asn1/tlv.js';
import { encodeInteger } from '../../src/asn1/der.js';
import { encodeProfileInfoListRequest } from '../../src/asn1/sgp22/profiles.js';
import { fromHex, toHex } from '../../src/util/hex.js';
import { installTestProfile, notifyAll } from './stored-profiles.js';

export interface LpaSuiteEnv {
  /** The transport under test, connected to `card`. */
  transport: ApduTransport;
  /** The same card, for seeding profiles, resetting state and fault rules. */
  card: SoftEuicc;
  /** Release everything setup created. */
  teardown(): Promise<void>;
  /** Optional: a fresh transport to the same card (used when a test had to close the transport). */
  reopen?(): Promise<ApduTransport>;
}

export interface LpaSuiteOptions {
  /** Per-APDU timeout for the channels the suite opens (default 10000). */
  readonly timeoutMs?: number;
  /** vitest timeout per test (default 30000). */
  readonly testTimeoutMs?: number;
}

/** Logical channels a card offers besides the basic one. */
export const LOGICAL_CHANNELS = 19;

/**
 * Ask the card how many logical channels can still be opened: open until refused, then close every
 * channel opened here. Channel transports (openLogicalChannel) are probed through that interface.
 */
export async function probeFreeChannels(transport: ApduTransport, timeoutMs = 10_000): Promise<number> {
  const opened: number[] = [];
  try {
    for (let i = 0; i < LOGICAL_CHANNELS + 1; i++) {
      if (transport.openLogicalChannel) {
        try {
          opened.push((await transport.openLogicalChannel(ISDR_AID, { timeoutMs })).channel);
        } catch (e) {
          if (e instanceof TransportError && e.code !== 'protocol' && e.code !== 'unsupported') throw e;
          break;
        }
      } else {
        const r = parseResponse(await transport.transmit(Uint8Array.of(0x00, 0x70, 0x00, 0x00, 0x01), { timeoutMs }));
        if (r.sw !== 0x9000) break;
        opened.push(r.data[0]!);
      }
    }
  } finally {
    for (const ch of opened) {
      if (transport.closeLogicalChannel) await transport.closeLogicalChannel(ch, { timeoutMs });
      else await transport.transmit(Uint8Array.of(0x00, 0x70, 0x80, ch), { timeoutMs });
    }
  }
  return opened.length;
}

/** A transport wrapper that records every command APDU (and forwards the optional members). */
export class RecordingTransport implements ApduTransport {
  readonly commands: Uint8Array[] = [];
  readonly openLogicalChannel?: ApduTransport['openLogicalChannel'];
  readonly closeLogicalChannel?: ApduTransport['closeLogicalChannel'];
  readonly exclusive?: ApduTransport['exclusive'];

  constructor(readonly inner: ApduTransport) {
    if (inner.openLogicalChannel) this.openLogicalChannel = (aid, o) => inner.openLogicalChannel!(aid, o);
    if (inner.closeLogicalChannel) this.closeLogicalChannel = (ch, o) => inner.closeLogicalChannel!(ch, o);
    if (inner.exclusive) this.exclusive = (fn) => inner.exclusive!(fn);
  }

  get capabilities(): ApduTransport['capabilities'] {
    return this.inner.capabilities;
  }

  transmit(apdu: Uint8Array, options?: { timeoutMs?: number }): Promise<Uint8Array> {
    this.commands.push(apdu.slice());
    return this.inner.transmit(apdu, options);
  }

  /** The STORE DATA commands recorded (INS E2). */
  storeDataCommands(): Uint8Array[] {
    return this.commands.filter((c) => c[1] === 0xe2);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** Clear what tests leave on the card: profiles, notifications, default SM-DP+ address, fault rules. */
export function resetCardState(card: SoftEuicc): void {
  card.faults.clear();
  const store = card.runtime.store;
  for (const p of store.listProfiles()) store.deleteProfile(p.aid);
  for (const n of store.listNotifications()) store.removeNotification(n.seqNumber);
  store.deleteMeta('defaultDpAddress');
}

export const SUITE_ICCIDS = ['8949449999999990011', '8949449999999990022', '8949449999999990033', '894944999999999004'] as const;
export const SUITE_ICON = Uint8Array.from({ length: 200 }, (_, i) => (i * 7 + 3) & 0xff);
export const SUITE_NOTIFY = 'smdp.lpa-suite.example';

/**
 * Seed: [0] operational, enabled, icon (png), ppr1, owner 123/45 gid1 01, nickname, notifications to all
 * events; [1] test class, disabled, jpg icon, ppr2, owner 310/260; [2] provisioning class, disabled, no
 * optional fields; [3] operational (class absent in the metadata), disabled, 18-digit ICCID, notifications.
 */
export function seedProfiles(card: SoftEuicc): void {
  const rt = card.runtime;
  installTestProfile(rt, {
    iccid: SUITE_ICCIDS[0],
    profileClass: 2,
    state: 1,
    iconType: 1,
    icon: SUITE_ICON,
    pprs: [1],
    profileOwner: { mccMnc: fromHex('21F354'), gid1: fromHex('01') },
    nickname: 'Work',
    serviceProviderName: 'Operator A',
    profileName: 'A unlimited',
    notificationConfigurationInfo: notifyAll(SUITE_NOTIFY),
  });
  installTestProfile(rt, {
    iccid: SUITE_ICCIDS[1],
    profileClass: 0,
    iconType: 0,
    icon: SUITE_ICON.subarray(0, 10),
    pprs: [2],
    profileOwner: { mccMnc: fromHex('130062') },
    serviceProviderName: 'Test Operator',
    profileName: 'Test',
  });
  installTestProfile(rt, { iccid: SUITE_ICCIDS[2], profileClass: 1, serviceProviderName: 'Bootstrap', profileName: 'Prov' });
  installTestProfile(rt, {
    iccid: SUITE_ICCIDS[3],
    serviceProviderName: 'Operator D',
    profileName: 'D travel',
    notificationConfigurationInfo: [{ profileManagementOperation: [1, 2], notificationAddress: 'd.example' }],
  });
}

/** A fault rule answering `response` (with 9000) to the next ES10 request with `tag`. */
function answerOnce(card: SoftEuicc, tag: number, response: Uint8Array): void {
  card.faults.add({ match: { es10Tag: tag, nth: 1 }, action: { kind: 'result', response } });
}

function resultResponse(tag: number, code: number): Uint8Array {
  return encodeTlv(tag, encodeInteger(0x80, code));
}

export function lpaSuite(name: string, setup: () => Promise<LpaSuiteEnv>, options: LpaSuiteOptions = {}): void {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const testTimeout = options.testTimeoutMs ?? 30_000;

  describe(`LPA suite: ${name}`, { timeout: testTimeout }, () => {
    let env: LpaSuiteEnv;
    let transport: ApduTransport;
    let card: SoftEuicc;

    const withCh = <T>(fn: (ch: ApduChannel) => Promise<T>, o: ApduChannelOptions = {}): Promise<T> =>
      ApduChannel.with(transport, { timeoutMs, ...o }, fn);

    beforeAll(async () => {
      env = await setup();
      transport = env.transport;
      card = env.card;
    }, 120_000);

    afterAll(async () => {
      await env?.teardown();
    }, 60_000);

    beforeEach(() => {
      resetCardState(card);
    });

    afterEach(async () => {
      card.faults.clear();
      expect(await probeFreeChannels(transport, timeoutMs)).toBe(LOGICAL_CHANNELS);
    });

    // ---------------------------------------------------------------------------------- chip information

    it('GetEID returns the card EID as 32 digits', async () => {
      const eid = await withCh(getEid);
      expect(eid).toMatch(/^\d{32}$/);
      expect(eid).toBe(card.eid);
    });

    it('GetEUICCInfo1: svn and the CI key lists', async () => {
      const info = await withCh(getEuiccInfo1);
      expect(info.svn).toBe(card.config.svn);
      expect(info.ciPkidsForVerification.map(toHex)).toEqual(card.runtime.identity.ciPkidsForVerification.map(toHex));
      expect(info.ciPkidsForSigning.map(toHex)).toEqual(card.runtime.identity.ciPkidsForSigning.map(toHex));
      expect(info.ciPkidsForSigning.length).toBeGreaterThan(0);
    });

    it('GetEUICCInfo2: versions, firmware, free memory, capabilities as flags, CI lists', async () => {
      const before = await withCh(getEuiccInfo2);
      expect(before.svn).toBe(card.config.svn);
      expect(before.profileVersion).toBe(card.config.profileVersion);
      expect(before.firmwareVersion).toBe(card.runtime.firmwareVersion());
      expect(before.extCardResource).toEqual({
        installedApplications: 0,
        freeNonVolatileMemory: card.config.totalMemory - card.runtime.store.usedMemory(),
        freeVolatileMemory: 0x4000,
      });
      expect(toHex(before.extCardResourceRaw)).toBe(toHex(extCardResource(card.runtime)));
      expect(before.uiccCapability.usimSupport).toBe(true);
      expect(before.uiccCapability.isimSupport).toBe(true);
      expect(before.uiccCapability.javacard).toBe(true);
      expect(before.uiccCapability.csimSupport).toBe(false);
      expect(before.uiccCapability.multos).toBe(false);
      expect(before.rspCapability).toEqual({
        additionalProfile: true,
        crlSupport: true,
        rpmSupport: false,
        testProfileSupport: card.config.testProfileSupport,
        deviceInfoExtensibilitySupport: false,
        serviceSpecificDataSupport: false,
      });
      expect(before.ts102241Version).toBe('9.2.0');
      expect(before.globalplatformVersion).toBe('2.3.0');
      expect(before.euiccCategory).toBe('mediumEuicc');
      expect(before.euiccCategoryCode).toBe(2);
      expect(before.ppVersion).toBe('1.0.0');
      expect(before.sasAccreditationNumber).toBe('ESIMKIT-SOFT-EUICC');
      expect(before.ciPkidsForVerification.map(toHex)).toEqual(card.runtime.identity.ciPkidsForVerification.map(toHex));
      expect(before.ciPkidsForSigning.map(toHex)).toEqual(card.runtime.identity.ciPkidsForSigning.map(toHex));

      seedProfiles(card);
      const after = await withCh(getEuiccInfo2);
      expect(after.extCardResource.installedApplications).toBe(4);
      expect(after.extCardResource.freeNonVolatileMemory).toBe(card.config.totalMemory - card.runtime.store.usedMemory());
      expect(after.extCardResource.freeNonVolatileMemory!).toBeLessThan(before.extCardResource.freeNonVolatileMemory!);
    });

    it('GetEUICCChallenge: 16 fresh bytes each time', async () => {
      const [a, b] = await withCh(async (ch) => [await getEuiccChallenge(ch), await getEuiccChallenge(ch)]);
      expect(a!.length).toBe(16);
      expect(b!.length).toBe(16);
      expect(toHex(a!)).not.toBe(toHex(b!));
    });

    it('GetRAT: the default rule (ppr1 + ppr2, any operator, consent required)', async () => {
      const rat = await withCh(getRat);
      expect(rat).toEqual([{ policyRules: ['ppr1', 'ppr2'], allowedOperators: [{ mcc: 'EEE', mnc: 'EEE' }], consentRequired: true }]);
    });

    // ---------------------------------------------------------------------------------------- addresses

    it('configured addresses: root SM-DS, set / read / clear the default SM-DP+', async () => {
      const a0 = await withCh(getEuiccConfiguredAddresses);
      expect(a0).toEqual({ rootDsAddress: card.runtime.store.getMetaString('rootDsAddress') ?? 'lpa.ds.gsma.com' });
      expect(await withCh((ch) => setDefaultDpAddress(ch, 'smdp.example.org'))).toEqual({ result: 'ok', code: 0 });
      const a1 = await withCh(getEuiccConfiguredAddresses);
      expect(a1.defaultDpAddress).toBe('smdp.example.org');
      expect(a1.rootDsAddress).toBe(a0.rootDsAddress);
      answerOnce(card, 0xbf3f, resultResponse(0xbf3f, 127));
      expect(await withCh((ch) => setDefaultDpAddress(ch, 'x.example'))).toEqual({ result: 'undefinedError', code: 127 });
      expect((await withCh(getEuiccConfiguredAddresses)).defaultDpAddress).toBe('smdp.example.org');
    });

    // -------------------------------------------------------------------------------------- profiles

    it('GetProfilesInfo: every field of every profile', async () => {
      expect(await withCh((ch) => getProfilesInfo(ch))).toEqual([]);
      seedProfiles(card);
      const list = await withCh((ch) => getProfilesInfo(ch));
      const stored = card.runtime.store.listProfiles();
      expect(list.map((p) => p.iccid)).toEqual([...SUITE_ICCIDS]);
      expect(list.map((p) => p.isdpAid)).toEqual(stored.map((s) => toHex(s.aid).toUpperCase()));
      const [a, b, c, d] = list as [ProfileInfo, ProfileInfo, ProfileInfo, ProfileInfo];
      expect(a).toEqual({
        iccid: SUITE_ICCIDS[0],
        isdpAid: toHex(stored[0]!.aid).toUpperCase(),
        state: 'enabled',
        nickname: 'Work',
        serviceProviderName: 'Operator A',
        profileName: 'A unlimited',
        iconType: 'png',
        icon: SUITE_ICON,
        profileClass: 'operational',
        notificationConfigurations: [
          { events: ['notificationInstall', 'notificationEnable', 'notificationDisable', 'notificationDelete'], address: SUITE_NOTIFY },
        ],
        profileOwner: { mcc: '123', mnc: '45', gid1: fromHex('01') },
        policyRules: ['ppr1'],
      });
      expect(b).toMatchObject({ state: 'disabled', iconType: 'jpg', profileClass: 'test', policyRules: ['ppr2'], profileOwner: { mcc: '310', mnc: '260' } });
      expect(toHex(b.icon!)).toBe(toHex(SUITE_ICON.subarray(0, 10)));
      expect(b.nickname).toBeUndefined();
      expect(c).toEqual({
        iccid: SUITE_ICCIDS[2],
        isdpAid: toHex(stored[2]!.aid).toUpperCase(),
        state: 'disabled',
        serviceProviderName: 'Bootstrap',
        profileName: 'Prov',
        profileClass: 'provisioning',
      });
      expect(d).toMatchObject({
        iccid: '894944999999999004',
        state: 'disabled',
        profileClass: 'operational',
        notificationConfigurations: [{ events: ['notificationEnable', 'notificationDisable'], address: 'd.example' }],
      });
    });

    it('GetProfilesInfo: search by ICCID, AID, class; tag lists', async () => {
      seedProfiles(card);
      const byIccid = await withCh((ch) => getProfilesInfo(ch, { iccid: SUITE_ICCIDS[1] }));
      expect(byIccid.map((p) => p.iccid)).toEqual([SUITE_ICCIDS[1]]);
      const aid = byIccid[0]!.isdpAid!;
      expect((await withCh((ch) => getProfilesInfo(ch, { aid }))).map((p) => p.iccid)).toEqual([SUITE_ICCIDS[1]]);
      expect((await withCh((ch) => getProfilesInfo(ch, { aid: fromHex(aid) }))).map((p) => p.iccid)).toEqual([SUITE_ICCIDS[1]]);
      expect((await withCh((ch) => getProfilesInfo(ch, { profileClass: 'operational' }))).map((p) => p.iccid)).toEqual([
        SUITE_ICCIDS[0],
        SUITE_ICCIDS[3],
      ]);
      expect((await withCh((ch) => getProfilesInfo(ch, { profileClass: 'test' }))).map((p) => p.iccid)).toEqual([SUITE_ICCIDS[1]]);
      expect(await withCh((ch) => getProfilesInfo(ch, { iccid: '8949449999999999999' }))).toEqual([]);
      const slim = await withCh((ch) => getProfilesInfo(ch, { fields: ['iccid', 'state', 'nickname'] }));
      expect(slim).toEqual([
        { iccid: SUITE_ICCIDS[0], state: 'enabled', nickname: 'Work' },
        { iccid: SUITE_ICCIDS[1], state: 'disabled' },
        { iccid: SUITE_ICCIDS[2], state: 'disabled' },
        { iccid: SUITE_ICCIDS[3], state: 'disabled' },
      ]);
      const icons = await withCh((ch) => getProfilesInfo(ch, { iccid: SUITE_ICCIDS[0], fields: ['icon', 'iconType', 'profileOwner', 'policyRules'] }));
      expect(icons).toEqual([{ iconType: 'png', icon: SUITE_ICON, profileOwner: { mcc: '123', mnc: '45', gid1: fromHex('01') }, policyRules: ['ppr1'] }]);
    });

    it('GetProfilesInfo: the error alternative is an Es10ResultError', async () => {
      answerOnce(card, 0xbf2d, encodeTlv(0xbf2d, encodeInteger(0x81, 1)));
      const e = await withCh((ch) => getProfilesInfo(ch)).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(Es10ResultError);
      expect(e).toMatchObject({ command: 'GetProfilesInfo', result: 'incorrectInputValues', code: 1 });
    });

    it('enable / disable / delete / nickname: real results from the card', async () => {
      seedProfiles(card);
      const [p0, p1, p2, p3] = SUITE_ICCIDS;
      await withCh(async (ch) => {
        expect(await enableProfile(ch, '8949449999999999999')).toEqual({ result: 'iccidOrAidNotFound', code: 1 });
        expect(await enableProfile(ch, p0)).toEqual({ result: 'profileNotInDisabledState', code: 2 });
        // p0 (enabled) has ppr1: it cannot be disabled, implicitly or explicitly
        expect(await enableProfile(ch, { iccid: p2 })).toEqual({ result: 'disallowedByPolicy', code: 3 });
        expect(await disableProfile(ch, p0)).toEqual({ result: 'disallowedByPolicy', code: 3 });
        expect(await disableProfile(ch, p2)).toEqual({ result: 'profileNotInEnabledState', code: 2 });
        expect(await disableProfile(ch, '8949449999999999999')).toEqual({ result: 'iccidOrAidNotFound', code: 1 });
        expect(await deleteProfile(ch, p0)).toEqual({ result: 'profileNotInDisabledState', code: 2 });
        expect(await deleteProfile(ch, p1)).toEqual({ result: 'disallowedByPolicy', code: 3 });
        expect(await deleteProfile(ch, '8949449999999999999')).toEqual({ result: 'iccidOrAidNotFound', code: 1 });
        expect(await setNickname(ch, '8949449999999999999', 'x')).toEqual({ result: 'iccidNotFound', code: 1 });
      });
      // remove p0's ppr1 on the card, then switch by AID
      resetCardState(card);
      installTestProfile(card.runtime, { iccid: p0, state: 1, notificationConfigurationInfo: notifyAll(SUITE_NOTIFY) });
      installTestProfile(card.runtime, { iccid: p3, notificationConfigurationInfo: notifyAll(SUITE_NOTIFY) });
      const aid3 = toHex(card.runtime.store.listProfiles()[1]!.aid);
      await withCh(async (ch) => {
        expect(await enableProfile(ch, { aid: aid3 }, { refresh: false })).toEqual({ result: 'ok', code: 0 });
        const states = (await getProfilesInfo(ch, { fields: ['iccid', 'state'] })).map((p) => [p.iccid, p.state]);
        expect(states).toEqual([
          [p0, 'disabled'],
          [p3, 'enabled'],
        ]);
        expect(await disableProfile(ch, { aid: fromHex(aid3) })).toEqual({ result: 'ok', code: 0 });
        expect(await setNickname(ch, p3, 'Ünïcødé travel')).toEqual({ result: 'ok', code: 0 });
        expect((await getProfilesInfo(ch, { iccid: p3 }))[0]!.nickname).toBe('Ünïcødé travel');
        expect(await setNickname(ch, p3, '')).toEqual({ result: 'ok', code: 0 });
        expect((await getProfilesInfo(ch, { iccid: p3 }))[0]!.nickname).toBeUndefined();
        expect(await deleteProfile(ch, p3)).toEqual({ result: 'ok', code: 0 });
        expect((await getProfilesInfo(ch)).map((p) => p.iccid)).toEqual([p0]);
      });
    });

    const tables: Array<[string, number, Record<string, number>, (ch: ApduChannel) => Promise<{ result: string; code: number }>]> = [
      [
        'EnableProfile',
        0xbf31,
        { ok: 0, iccidOrAidNotFound: 1, profileNotInDisabledState: 2, disallowedByPolicy: 3, wrongProfileReenabling: 4, catBusy: 5, undefinedError: 127 },
        (ch) => enableProfile(ch, SUITE_ICCIDS[2]),
      ],
      [
        'DisableProfile',
        0xbf32,
        { ok: 0, iccidOrAidNotFound: 1, profileNotInEnabledState: 2, disallowedByPolicy: 3, catBusy: 5, undefinedError: 127 },
        (ch) => disableProfile(ch, SUITE_ICCIDS[0]),
      ],
      [
        'DeleteProfile',
        0xbf33,
        { ok: 0, iccidOrAidNotFound: 1, profileNotInDisabledState: 2, disallowedByPolicy: 3, undefinedError: 127 },
        (ch) => deleteProfile(ch, SUITE_ICCIDS[2]),
      ],
      ['SetNickname', 0xbf29, { ok: 0, iccidNotFound: 1, undefinedError: 127 }, (ch) => setNickname(ch, SUITE_ICCIDS[2], 'n')],
      [
        'eUICCMemoryReset',
        0xbf34,
        { ok: 0, nothingToDelete: 1, catBusy: 5, undefinedError: 127 },
        (ch) => euiccMemoryReset(ch, { deleteOperationalProfiles: true }),
      ],
      ['RemoveNotificationFromList', 0xbf30, { ok: 0, nothingToDelete: 1, undefinedError: 127 }, (ch) => removeNotification(ch, 1)],
    ];
    for (const [command, tag, values, run] of tables) {
      it(`${command}: every SGP.22 result code (and an unknown one) reaches the caller typed`, async () => {
        seedProfiles(card);
        await withCh(async (ch) => {
          for (const [result, code] of [...Object.entries(values), ['unknown', 42] as const]) {
            answerOnce(card, tag, resultResponse(tag, code));
            expect(await run(ch)).toEqual({ result, code });
          }
        });
        // the fault rules answered instead of the card: nothing changed
        expect(card.runtime.store.listProfiles().length).toBe(4);
      });
    }

    it('eUICCMemoryReset: options as named flags, nothingToDelete', async () => {
      seedProfiles(card);
      await withCh(async (ch) => {
        expect(await setDefaultDpAddress(ch, 'smdp.example.org')).toEqual({ result: 'ok', code: 0 });
        expect(await euiccMemoryReset(ch, { deleteFieldLoadedTestProfiles: true })).toEqual({ result: 'ok', code: 0 });
        expect((await getProfilesInfo(ch)).map((p) => p.iccid)).toEqual([SUITE_ICCIDS[0], SUITE_ICCIDS[2], SUITE_ICCIDS[3]]);
        expect(await euiccMemoryReset(ch, { deleteFieldLoadedTestProfiles: true })).toEqual({ result: 'nothingToDelete', code: 1 });
        expect(await euiccMemoryReset(ch, { deleteOperationalProfiles: true })).toEqual({ result: 'ok', code: 0 });
        expect((await getProfilesInfo(ch)).map((p) => p.iccid)).toEqual([SUITE_ICCIDS[2]]);
        expect((await getEuiccConfiguredAddresses(ch)).defaultDpAddress).toBe('smdp.example.org');
        expect(await euiccMemoryReset(ch, { resetDefaultSmdpAddress: true })).toEqual({ result: 'ok', code: 0 });
        expect((await getEuiccConfiguredAddresses(ch)).defaultDpAddress).toBeUndefined();
        expect(await euiccMemoryReset(ch, { deleteOperationalProfiles: true, resetDefaultSmdpAddress: true })).toEqual({
          result: 'nothingToDelete',
          code: 1,
        });
      });
    });

    // -------------------------------------------------------------------------------- notifications

    it('notifications: enable/disable create them; list, filter, retrieve, remove', async () => {
      installTestProfile(card.runtime, { iccid: SUITE_ICCIDS[0], state: 1, notificationConfigurationInfo: notifyAll(SUITE_NOTIFY) });
      installTestProfile(card.runtime, {
        iccid: SUITE_ICCIDS[3],
        notificationConfigurationInfo: [{ profileManagementOperation: [1, 2], notificationAddress: 'd.example' }],
      });
      await withCh(async (ch) => {
        expect(await listNotifications(ch)).toEqual([]);
        expect((await enableProfile(ch, SUITE_ICCIDS[3])).result).toBe('ok'); // disable p0, enable p3
        expect((await disableProfile(ch, SUITE_ICCIDS[3])).result).toBe('ok');
        const all = await listNotifications(ch);
        expect(all.map((n) => [n.event, n.iccid, n.address])).toEqual([
          ['notificationDisable', SUITE_ICCIDS[0], SUITE_NOTIFY],
          ['notificationEnable', SUITE_ICCIDS[3], 'd.example'],
          ['notificationDisable', SUITE_ICCIDS[3], 'd.example'],
        ]);
        const seqs = all.map((n) => n.seqNumber);
        expect(seqs[1]).toBeGreaterThan(seqs[0]!);
        expect(seqs[2]).toBeGreaterThan(seqs[1]!);
        expect((await listNotifications(ch, 'notificationEnable')).map((n) => n.seqNumber)).toEqual([seqs[1]]);
        expect(await listNotifications(ch, 'notificationInstall')).toEqual([]);

        const pending = await retrieveNotifications(ch);
        expect(pending.map((p) => [p.seqNumber, p.event, p.iccid, p.kind])).toEqual(
          all.map((n) => [n.seqNumber, n.event, n.iccid, 'otherSignedNotification']),
        );
        for (const p of pending) {
          expect(p.raw[0]).toBe(0x30);
          expect(p.notification.kind).toBe('otherSignedNotification');
        }
        const one = await retrieveNotifications(ch, { seqNumber: seqs[2]! });
        expect(one.map((p) => p.seqNumber)).toEqual([seqs[2]]);
        expect(toHex(one[0]!.raw)).toBe(toHex(pending[2]!.raw));
        expect((await retrieveNotifications(ch, { event: 'notificationDisable' })).map((p) => p.seqNumber)).toEqual([seqs[0], seqs[2]]);

        expect(await removeNotification(ch, seqs[1]!)).toEqual({ result: 'ok', code: 0 });
        expect(await removeNotification(ch, seqs[1]!)).toEqual({ result: 'nothingToDelete', code: 1 });
        expect((await listNotifications(ch)).map((n) => n.seqNumber)).toEqual([seqs[0], seqs[2]]);
      });
    });

    it('download-flow wrappers: CancelSession without a session answers its typed error', async () => {
      const r = await withCh((ch) => cancelSession(ch, fromHex('0102030405060708'), 0));
      expect(r.response.kind).toBe('cancelSessionResponseError');
      expect(r.raw[0]).toBe(0xbf);
      if (r.response.kind === 'cancelSessionResponseError') expect(r.response.cancelSessionResponseError).toBe(5);
    });

    // ----------------------------------------------------------------------------------- the channel

    for (const blockSize of [6, 120, 255]) {
      it(`block size ${blockSize}: every STORE DATA block fits, results are the same`, async () => {
        seedProfiles(card);
        const rec = new RecordingTransport(transport);
        const nick = 'A nickname long enough to need several blocks at small sizes';
        const list = await ApduChannel.with(rec, { timeoutMs, blockSize }, async (ch) => {
          expect((await setNickname(ch, SUITE_ICCIDS[2], nick)).result).toBe('ok');
          return getProfilesInfo(ch, { fields: ['iccid', 'nickname', 'icon'] });
        });
        expect(list.find((p) => p.iccid === SUITE_ICCIDS[2])!.nickname).toBe(nick);
        expect(list[0]!.icon).toEqual(SUITE_ICON);
        const sd = rec.storeDataCommands().map((c) => parseCommandApdu(c));
        expect(sd.length).toBeGreaterThanOrEqual(2);
        for (const c of sd) {
          expect(c.data.length).toBeLessThanOrEqual(blockSize);
          expect(c.le).toBe(256); // case 4, Le 00
          expect([0x11, 0x91]).toContain(c.p1);
        }
        const requestBytes = 2 + 2 + 10 + 2 + new TextEncoder().encode(nick).length + 1;
        const nickBlocks = Math.ceil(requestBytes / blockSize);
        expect(sd.slice(0, nickBlocks).map((c) => c.p2)).toEqual(Array.from({ length: nickBlocks }, (_, i) => i));
        expect(sd[nickBlocks - 1]!.p1).toBe(0x91);
      });
    }

    it('a block size outside 6..255 is refused unless the transport has extended length', async () => {
      await expect(ApduChannel.open(transport, { blockSize: 5 })).rejects.toBeInstanceOf(RangeError);
      if (transport.capabilities.extendedLength !== true) {
        await expect(ApduChannel.open(transport, { blockSize: 256 })).rejects.toBeInstanceOf(RangeError);
        return;
      }
      // extended length: one APDU for a request over 255 bytes
      seedProfiles(card);
      const rec = new RecordingTransport(transport);
      const big = encodeProfileInfoListRequest({ tagList: new Uint8Array(400).fill(0x5a) });
      const response = await ApduChannel.with(rec, { timeoutMs, blockSize: 4096 }, (ch) => ch.storeData(big));
      expect(response[0]).toBe(0xbf);
      const sd = rec.storeDataCommands().map((c) => parseCommandApdu(c));
      expect(sd.length).toBe(1);
      expect(sd[0]!.extended).toBe(true);
      expect(sd[0]!.data.length).toBe(big.length);
    });

    it('GET RESPONSE with the proprietary class works as with the ISO class', async () => {
      seedProfiles(card);
      const iso = await withCh((ch) => getProfilesInfo(ch), { getResponseCla: 'iso' });
      const prop = await withCh((ch) => getProfilesInfo(ch), { getResponseCla: 'proprietary' });
      expect(prop).toEqual(iso);
    });

    it('the ISD-R can be given by AID; an unknown AID is EuiccSwError SELECT 6A82 and leaks nothing', async () => {
      expect(await withCh(getEid, { aid: 'A0000005591010FFFFFFFF8900000100' })).toBe(card.eid);
      const e = await withCh(getEid, { aid: 'A0000005591010000000008900000300' }).catch((x: unknown) => x);
      if (transport.openLogicalChannel) {
        // a channel transport (AT+CCHO) selects inside its own open command and reports only that it failed
        expect(e).toMatchObject({ name: 'TransportError', code: 'protocol' });
      } else {
        expect(e).toBeInstanceOf(EuiccSwError);
        expect(e).toMatchObject({ command: 'SELECT', sw: 0x6a82 });
      }
    });

    it('a status word other than 9000/61xx is EuiccSwError naming the ES10 function', async () => {
      card.faults.add({ match: { es10Tag: 0xbf2d, nth: 1 }, action: { kind: 'sw', sw: 0x6a88 } });
      const e = await withCh((ch) => getProfilesInfo(ch)).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(EuiccSwError);
      expect(e).toMatchObject({ command: 'GetProfilesInfo', sw: 0x6a88 });
      expect((e as Error).message).toContain('6A88');
    });

    it('an undecodable response is EuiccResponseError naming the function', async () => {
      answerOnce(card, 0xbf31, fromHex('DEADBEEF'));
      const e1 = await withCh((ch) => enableProfile(ch, SUITE_ICCIDS[0])).catch((x: unknown) => x);
      expect(e1).toBeInstanceOf(EuiccResponseError);
      expect(e1).toMatchObject({ command: 'EnableProfile' });
      answerOnce(card, 0xbf3e, encodeTlv(0xbf22, new Uint8Array(0)));
      const e2 = await withCh(getEid).catch((x: unknown) => x);
      expect(e2).toMatchObject({ name: 'EuiccResponseError', command: 'GetEID' });
    });

    it('ApduChannel.with closes the channel when the callback throws', async () => {
      const boom = new Error('boom');
      await expect(withCh(async () => Promise.reject(boom))).rejects.toBe(boom);
      expect(await probeFreeChannels(transport, timeoutMs)).toBe(LOGICAL_CHANNELS);
    });

    it('all 19 logical channels can be opened; the 20th is refused; closing gives them back', async () => {
      const chans: ApduChannel[] = [];
      try {
        for (let i = 0; i < LOGICAL_CHANNELS; i++) chans.push(await ApduChannel.open(transport, { timeoutMs }));
        expect(new Set(chans.map((c) => c.channel)).size).toBe(LOGICAL_CHANNELS);
        const eids = [await getEid(chans[0]!), await getEid(chans[18]!)];
        expect(eids).toEqual([card.eid, card.eid]);
        const e = await ApduChannel.open(transport, { timeoutMs }).catch((x: unknown) => x);
        expect(e).toBeInstanceOf(Error);
        if (transport.openLogicalChannel === undefined) expect(e).toMatchObject({ command: 'MANAGE CHANNEL', sw: 0x6a81 });
      } finally {
        for (const c of chans) await c.close();
      }
      expect(chans.every((c) => !c.isOpen)).toBe(true);
    });
  });
}
