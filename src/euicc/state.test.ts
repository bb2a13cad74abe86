import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { CardStore, StateError, STATE_SCHEMA_VERSION, type StoredProfile } from './state.js';
import { fromHex, toHex } from '../util/hex.js';

function profile(n: number, extra: Partial<StoredProfile> = {}): StoredProfile {
  return {
    aid: fromHex(`A0000005591010FFFFFFFF89000010${n.toString(16).padStart(2, '0')}`),
    iccid: fromHex(`98001032547698103${n.toString().padStart(2, '0')}F`.slice(0, 20).padEnd(20, 'F')),
    state: 0,
    port: null,
    metadata: fromHex('BF2500'),
    profileClass: 2,
    pprs: [],
    upp: new Uint8Array(100 + n),
    size: 103 + n,
    installedAt: 1_700_000_000_000 + n,
    ...extra,
  };
}

describe('CardStore', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'esimkit-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('creates the state file with mode 0600 and a schema version', () => {
    const path = join(dir, 'card.db');
    const s = CardStore.open(path);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(s.getMetaString('schemaVersion')).toBe(String(STATE_SCHEMA_VERSION));
    s.close();
  });

  it('tightens the mode of an existing file to 0600', () => {
    const path = join(dir, 'card.db');
    writeFileSync(path, new Uint8Array(0), { mode: 0o644 });
    CardStore.open(path).close();
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('refuses a newer schema version', () => {
    const path = join(dir, 'card.db');
    const s = CardStore.open(path);
    s.setMetaString('schemaVersion', String(STATE_SCHEMA_VERSION + 1));
    s.close();
    expect(() => CardStore.open(path)).toThrow(StateError);
    try {
      CardStore.open(path);
    } catch (e) {
      expect((e as StateError).code).toBe('schema');
    }
  });

  it('meta values round-trip as bytes and strings, and persist', () => {
    const path = join(dir, 'card.db');
    const s = CardStore.open(path);
    expect(s.getMeta('x')).toBeUndefined();
    s.setMeta('x', fromHex('0102'));
    s.setMeta('x', fromHex('0304'));
    s.setMetaString('defaultDpAddress', 'smdp.example.com');
    expect(toHex(s.getMeta('x')!)).toBe('0304');
    expect(s.deleteMeta('x')).toBe(true);
    expect(s.deleteMeta('x')).toBe(false);
    s.close();
    const t = CardStore.open(path);
    expect(t.getMetaString('defaultDpAddress')).toBe('smdp.example.com');
    expect(t.getMeta('x')).toBeUndefined();
    t.close();
  });

  it('profiles: insert, list in order, find, update, delete, memory', () => {
    const s = CardStore.open(':memory:');
    s.insertProfile(profile(2, { nickname: 'two', dpProprietaryData: fromHex('B803060100'), pprs: [1, 2] }));
    s.insertProfile(profile(1));
    expect(s.listProfiles().map((p) => p.aid[15])).toEqual([2, 1]);
    const p2 = s.findProfile({ iccid: profile(2).iccid })!;
    const { upp: upp2, ...header2 } = profile(2, { nickname: 'two', dpProprietaryData: fromHex('B803060100'), pprs: [1, 2] });
    expect(p2).toEqual(header2);
    expect(s.profileUpp(p2.aid)).toEqual(upp2);
    expect(s.findProfile({ aid: profile(1).aid })?.nickname).toBeUndefined();
    expect(s.findProfile({ aid: profile(3).aid })).toBeUndefined();
    expect(s.usedMemory()).toBe(105 + 104);
    expect(s.profileCount()).toBe(2);
    s.updateProfile(profile(1).aid, { state: 1, port: 0, nickname: 'n' });
    expect(s.findProfile({ aid: profile(1).aid })).toMatchObject({ state: 1, port: 0, nickname: 'n' });
    s.updateProfile(profile(1).aid, { state: 0, port: null, nickname: undefined });
    const p1 = s.findProfile({ aid: profile(1).aid })!;
    expect(p1.state).toBe(0);
    expect(p1.port).toBeNull();
    expect(p1.nickname).toBeUndefined();
    expect(() => s.updateProfile(profile(9).aid, { state: 1 })).toThrow(StateError);
    expect(s.deleteProfile(profile(2).aid)).toBe(true);
    expect(s.deleteProfile(profile(2).aid)).toBe(false);
    expect(s.usedMemory()).toBe(104);
    expect(s.profileCount()).toBe(1);
    s.close();
  });

  it('listProfileHeaders: the same profiles without the UPP', () => {
    const s = CardStore.open(':memory:');
    s.insertProfile(profile(2, { nickname: 'n', pprs: [1] }));
    s.insertProfile(profile(1));
    const { upp: _u, ...h2 } = profile(2, { nickname: 'n', pprs: [1] });
    const { upp: _v, ...h1 } = profile(1);
    expect(s.listProfileHeaders()).toEqual([h2, h1]);
    expect('upp' in s.listProfileHeaders()[0]!).toBe(false);
    s.close();
  });

  it('insertProfile throws StateError conflict on ICCID or AID collision', () => {
    const s = CardStore.open(':memory:');
    s.insertProfile(profile(1));
    const sameIccid = profile(2, { iccid: profile(1).iccid });
    const sameAid = profile(3, { aid: profile(1).aid });
    for (const p of [sameIccid, sameAid]) {
      let err: unknown;
      try {
        s.insertProfile(p);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(StateError);
      expect((err as StateError).code).toBe('conflict');
    }
    expect(s.listProfiles()).toHaveLength(1);
    s.close();
  });

  it('transaction is atomic and nested calls join the outer one', () => {
    const s = CardStore.open(':memory:');
    expect(() =>
      s.transaction(() => {
        s.insertProfile(profile(1));
        s.transaction(() => s.insertProfile(profile(2)));
        s.nextSeqNumber();
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(s.listProfiles()).toHaveLength(0);
    expect(s.nextSeqNumber()).toBe(0);
    expect(s.transaction(() => 42)).toBe(42);
    s.close();
  });

  it('sequence numbers start at 0, only grow and survive reopening', () => {
    const path = join(dir, 'card.db');
    const s = CardStore.open(path);
    expect([s.nextSeqNumber(), s.nextSeqNumber(), s.nextSeqNumber()]).toEqual([0, 1, 2]);
    s.close();
    const t = CardStore.open(path);
    expect(t.nextSeqNumber()).toBe(3);
    t.close();
  });

  it('notifications: add, list by seq, get, remove, duplicate seq refused', () => {
    const s = CardStore.open(':memory:');
    s.addNotification({ seqNumber: 5, event: 1, address: 'a.example', iccid: fromHex('98001032547698103214'), pending: fromHex('3000') });
    s.addNotification({ seqNumber: 2, event: 3, address: 'b.example', pending: fromHex('BF3700') });
    expect(s.listNotifications().map((n) => n.seqNumber)).toEqual([2, 5]);
    expect(s.getNotification(5)).toEqual({
      seqNumber: 5,
      event: 1,
      address: 'a.example',
      iccid: fromHex('98001032547698103214'),
      pending: fromHex('3000'),
    });
    expect(s.getNotification(2)?.iccid).toBeUndefined();
    expect(() => s.addNotification({ seqNumber: 2, event: 1, address: 'x', pending: fromHex('3000') })).toThrow(StateError);
    expect(s.removeNotification(2)).toBe(true);
    expect(s.removeNotification(2)).toBe(false);
    expect(s.getNotification(2)).toBeUndefined();
    s.close();
  });

  it('nextIsdpAid hands out unique 16-byte ISD-P AIDs that persist', () => {
    const path = join(dir, 'card.db');
    const s = CardStore.open(path);
    const a = toHex(s.nextIsdpAid()).toUpperCase();
    const b = toHex(s.nextIsdpAid()).toUpperCase();
    expect(a).toBe('A0000005591010FFFFFFFF8900001000');
    expect(b).toBe('A0000005591010FFFFFFFF8900001100');
    // an AID already in use (inserted by hand) is skipped
    s.insertProfile(profile(0, { aid: fromHex('A0000005591010FFFFFFFF8900001200') }));
    s.close();
    const t = CardStore.open(path);
    expect(toHex(t.nextIsdpAid()).toUpperCase()).toBe('A0000005591010FFFFFFFF8900001300');
    t.close();
  });

  it('a SIGKILL in the middle of a transaction leaves the old state', () => {
    const path = join(dir, 'card.db');
    const s = CardStore.open(path);
    s.insertProfile(profile(1));
    s.close();
    // child: opens the store, starts a transaction, inserts, then kills itself before commit
    const script = `
      import { CardStore } from ${JSON.stringify(new URL('./state.ts', import.meta.url).pathname)};
      const s = CardStore.open(${JSON.stringify(path)});
      s.transaction(() => {
        s.deleteProfile(new Uint8Array(Buffer.from('A0000005591010FFFFFFFF8900001001', 'hex')));
        s.nextSeqNumber();
        process.kill(process.pid, 'SIGKILL');
      });
    `;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(r.signal).toBe('SIGKILL');
    const t = CardStore.open(path);
    expect(t.listProfiles()).toHaveLength(1);
    expect(t.nextSeqNumber()).toBe(0);
    t.close();
  });
});
