/**
 * Test helpers for the system service (test/service*.test.ts): a temporary ESIM_HOME with the embedded
 * default (ensureHome: two software eUICCs, demo SM-DP+ and SM-DS), optionally with slots.json edited; the
 * software eUICC behind a slot (for fault rules and channel checks); new demo orders; caller identities.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildProfilePackage } from '../../src/asn1/saip.js';
import type { SoftEuicc } from '../../src/euicc/card.js';
import type { ProfileMetadataInput } from '../../src/smdp/inventory.js';
import { ensureHome, homePaths, withLuhn } from '../../src/service/home.js';
import { expect } from 'vitest';
import { GET_PERMISSION, ServiceError, SET_OPEN_PERMISSION, SET_PERMISSION, SHELL_CALLER, type Caller } from '../../src/service/protocol.js';
import type { EsimService } from '../../src/service/service.js';

export const CALLERS = {
  shell: SHELL_CALLER,
  none: { bundleName: 'com.example.none', systemApp: true, permissions: [] } as Caller,
  get: { bundleName: 'com.example.get', systemApp: true, permissions: [GET_PERMISSION] } as Caller,
  set: { bundleName: 'com.example.set', systemApp: true, permissions: [SET_PERMISSION] } as Caller,
  nonSystem: { bundleName: 'com.example.app', systemApp: false, permissions: [GET_PERMISSION, SET_PERMISSION, SET_OPEN_PERMISSION] } as Caller,
} as const;

/** A fresh home with the embedded default; `edit` may change the parsed slots.json before it is written back. */
export function makeHome(edit?: (slots: Record<string, unknown>) => void): { home: string; remove(): void } {
  const home = mkdtempSync(join(tmpdir(), 'esimkit-svc-'));
  ensureHome(home);
  if (edit) {
    const file = homePaths(home).slotsFile;
    const json = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    edit(json);
    writeFileSync(file, JSON.stringify(json, null, 2));
  }
  return { home, remove: () => rmSync(home, { recursive: true, force: true }) };
}

/** The software eUICC behind a virtual slot (the slot's transport wraps a VirtualTransport). */
export async function cardOf(service: EsimService, slotId: number): Promise<SoftEuicc> {
  const slot = service.config.slots.find((s) => s.slotId === slotId);
  if (!slot) throw new Error(`no slot ${slotId}`);
  let t: unknown = await slot.transport();
  for (let i = 0; i < 3 && t !== undefined; i++) {
    const card = (t as { card?: SoftEuicc }).card;
    if (card) return card;
    t = (t as { inner?: unknown }).inner;
  }
  throw new Error(`slot ${slotId} is not a software eUICC`);
}

/**
 * Logical channels open on a port of the card (besides the basic channel 0), by probing: open channels with
 * MANAGE CHANNEL until the card has none left, then close the ones opened here. Call when the service is idle.
 */
export function openChannelCount(card: SoftEuicc, port = 0): number {
  const opened: number[] = [];
  for (let i = 0; i < 19; i++) {
    const r = card.transmit(Uint8Array.of(0x00, 0x70, 0x00, 0x00, 0x01), port);
    const sw = (r[r.length - 2]! << 8) | r[r.length - 1]!;
    if (sw !== 0x9000) break;
    opened.push(r[0]!);
  }
  for (const ch of opened) card.transmit(Uint8Array.of(0x00, 0x70, 0x80, ch), port);
  return 19 - opened.length;
}

let serial = 0;
const issuer = String(Math.floor(Math.random() * 1e6)).padStart(6, '0');

/** A new ICCID (20 digits with Luhn). */
export function newIccid(): string {
  serial++;
  return withLuhn(`8949${issuer}${String(serial).padStart(9, '0')}`);
}

/** A new profile on the demo SM-DP+ and a released order for it: its ICCID and activation code. */
export function newOrder(
  service: EsimService,
  o: { metadata?: ProfileMetadataInput; confirmationCode?: string; eid?: string } = {},
): { iccid: string; activationCode: string; matchingId: string } {
  const demo = service.demo;
  if (!demo) throw new Error('the service runs no demo servers');
  const iccid = newIccid();
  demo.smdp.inventory.addProfile(buildProfilePackage({ iccid }), { serviceProviderName: 'esimkit test', profileName: `test ${iccid}`, ...o.metadata });
  const { matchingId } = demo.smdp.inventory.createOrder({
    iccid,
    ...(o.confirmationCode !== undefined && { confirmationCode: o.confirmationCode }),
    ...(o.eid !== undefined && { eid: o.eid }),
  });
  return { iccid, matchingId, activationCode: `LPA:1$${demo.smdpAddress}$${matchingId}` };
}

/** Resolve or reject → the ServiceError code (fails the test for another error). */
export async function errorCode(p: Promise<unknown>): Promise<{ code: number; message: string } | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    const x = e as { code?: unknown; message?: string; name?: string };
    if (x.name !== 'ServiceError' || typeof x.code !== 'number') throw e;
    return { code: x.code, message: x.message ?? '' };
  }
}

/** Resolve → 'resolved'; reject → the ServiceError code (expects a ServiceError, failing the test for another error). */
export async function serviceCode(p: Promise<unknown>): Promise<number | 'resolved'> {
  try {
    await p;
    return 'resolved';
  } catch (e) {
    expect(e).toBeInstanceOf(ServiceError);
    return (e as ServiceError).code;
  }
}
