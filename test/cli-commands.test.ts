/**
 * The LPA commands of `esim` (chip, profile, osu, pending adds, completion, help) run in-process (runCli)
 * against the embedded default of a temporary ESIM_HOME: --json documents checked field by field, text
 * output, exit codes (0 ok, 1 declined, 2 usage / 401, 3 refusal, 4 unreachable).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireService, openServiceHomes } from '../src/api/client.js';
import { createESim } from '../src/api/esim.js';
import { createProgram } from '../src/cli/main.js';
import { SHELL_CALLER } from '../src/service/protocol.js';
import type { EsimService } from '../src/service/service.js';
import { cli } from './support/cli.js';
import { makeHome, newOrder } from './support/service.js';

type Json = Record<string, unknown>;
interface ProfileDoc {
  iccid: string;
  state: string;
  nickname: string;
  serviceProviderName: string;
  profileName: string;
  profileClass: string;
  policyRules: string[];
  operatorId: Json;
}

function demo(home: string): { smdpAddress: string; activationCodes: string[] } {
  return JSON.parse(readFileSync(`${home}/demo.json`, 'utf8')) as { smdpAddress: string; activationCodes: string[] };
}

describe('esim LPA commands, embedded service opened and closed by each command', () => {
  let home: ReturnType<typeof makeHome>;
  beforeAll(() => {
    home = makeHome();
  });
  afterAll(() => home.remove());

  it('profile list --json on a new card: one document, every field; the in-process service is closed afterwards', async () => {
    const r = await cli(['profile', 'list', '--json', '--home', home.home]);
    expect(r.code).toBe(0);
    expect(r.json()).toEqual({ slot: 0, resultCode: 0, result: 'RESULT_OK', isRemovable: false, profiles: [] });
    expect(r.err).toBe('');
    expect(openServiceHomes()).not.toContain(home.home);
    const text = await cli(['profile', 'list', '--home', home.home, '--slot', '1']);
    expect(text).toMatchObject({ code: 0, out: 'no profiles on slot 1\n' });
  });

  it('chip info: EID, OS version, default SM-DP+, memory, EUICCInfo2 (JSON and text, no colour off a terminal)', async () => {
    const r = await cli(['chip', 'info', '--json', '--home', home.home]);
    expect(r.code).toBe(0);
    const j = r.json<Json & { euiccInfo2: Json }>();
    expect(Object.keys(j).sort()).toEqual(
      ['slot', 'eid', 'osVersion', 'defaultSmdpAddress', 'svn', 'profileVersion', 'freeNonVolatileMemory', 'freeVolatileMemory', 'installedApplications', 'euiccInfo2'].sort(),
    );
    expect(j['slot']).toBe(0);
    expect(j['eid']).toMatch(/^\d{32}$/);
    expect(j['osVersion']).toBe('1.0.0');
    expect(j['defaultSmdpAddress']).toBe(demo(home.home).smdpAddress);
    expect(j['svn']).toMatch(/^\d+\.\d+\.\d+$/);
    expect(j['profileVersion']).toMatch(/^\d+\.\d+\.\d+$/);
    expect(j['freeNonVolatileMemory']).toBeGreaterThan(0);
    expect(j['freeVolatileMemory']).toBeGreaterThan(0);
    expect(j['installedApplications']).toBe(0);
    expect(j.euiccInfo2['firmwareVersion']).toBe('1.0.0');
    expect((j.euiccInfo2['extCardResource'] as Json)['freeNonVolatileMemory']).toBe(j['freeNonVolatileMemory']);

    const slot1 = (await cli(['chip', 'info', '--json', '--slot', '1', '--home', home.home])).json();
    expect(slot1['eid']).toMatch(/^\d{32}$/);
    expect(slot1['eid']).not.toBe(j['eid']);

    const t = await cli(['chip', 'info', '--home', home.home]);
    expect(t.code).toBe(0);
    expect(t.out).toMatch(new RegExp(`^EID +${j['eid'] as string}$`, 'm'));
    expect(t.out).toMatch(/^OS version +1\.0\.0$/m);
    expect(t.out).toMatch(/^free memory +\d+ bytes$/m);
    expect(t.out).not.toContain('\x1b[');
  });
});

describe('esim LPA commands (the test holds the shared in-process service)', () => {
  let home: ReturnType<typeof makeHome>;
  let service: EsimService;
  let release: () => Promise<void>;
  const h = (): string[] => ['--home', home.home];
  const list = async (slot = 0): Promise<ProfileDoc[]> => {
    const r = await cli(['profile', 'list', '--json', '--slot', String(slot), ...h()]);
    expect(r.code).toBe(0);
    return r.json<{ profiles: ProfileDoc[] }>().profiles;
  };

  beforeAll(async () => {
    home = makeHome();
    ({ service, release } = await acquireService(home.home));
  });
  afterAll(async () => {
    await release();
    home.remove();
  });

  let first: string;
  let second: string;

  it('profile download -a (demo activation code) --json, then list shows it disabled', async () => {
    const code = demo(home.home).activationCodes[0]!;
    const r = await cli(['profile', 'download', '-a', code, '--json', ...h()]);
    expect(r.code).toBe(0);
    const j = r.json();
    expect(Object.keys(j).sort()).toEqual(['slot', 'port', 'resultCode', 'result', 'solvableErrors', 'cardId', 'installed', 'iccid', 'enabled', 'cancelled', 'transactionId'].sort());
    expect(j).toMatchObject({ slot: 0, port: 0, resultCode: 0, result: 'RESULT_OK', solvableErrors: [], cardId: 0, installed: true, enabled: false, cancelled: false });
    expect(j['iccid']).toMatch(/^\d{19,20}$/);
    expect(j['transactionId']).toMatch(/^[0-9A-F]{32}$/);
    first = j['iccid'] as string;
    const profiles = await list();
    expect(profiles).toEqual([
      {
        iccid: first,
        state: 'disabled',
        nickname: '',
        serviceProviderName: 'esimkit',
        profileName: expect.stringMatching(/^esimkit Demo \d+ \(activation code\)$/) as unknown as string,
        profileClass: 'operational',
        policyRules: [],
        operatorId: { mcc: expect.any(String), mnc: expect.any(String), gid1: expect.any(String), gid2: expect.any(String) } as unknown as Json,
      },
    ]);
    // the activation code's token never appears in the output
    const token = code.split('$')[2]!;
    expect(r.out + r.err).not.toContain(token);
  });

  it("profile download without a source uses the card's default SM-DP+ (order bound to the EID); --enable", async () => {
    const r = await cli(['profile', 'download', '--enable', '--json', ...h()]);
    expect(r.code).toBe(0);
    const j = r.json();
    expect(j).toMatchObject({ installed: true, enabled: true, resultCode: 0 });
    second = j['iccid'] as string;
    expect(second).not.toBe(first);
    const profiles = await list();
    expect(profiles.find((p) => p.iccid === second)!.state).toBe('enabled');
    expect(profiles.find((p) => p.iccid === first)!.state).toBe('disabled');
    expect(profiles.find((p) => p.iccid === second)!.profileName).toMatch(/default SM-DP\+/);
  });

  it('profile enable: -1 while another is enabled (exit 3), --force switches', async () => {
    const r = await cli(['profile', 'enable', first, '--json', ...h()]);
    expect(r.code).toBe(3);
    expect(r.json()).toEqual({ slot: 0, port: 0, iccid: first, resultCode: -1, result: 'RESULT_MUST_DISABLE_PROFILE' });
    expect(r.err).toMatch(/--force/);
    const t = await cli(['profile', 'enable', first, '--force', ...h()]);
    expect(t).toMatchObject({ code: 0, out: `enabled ${first} on slot 0\n` });
    const profiles = await list();
    expect(profiles.find((p) => p.iccid === first)!.state).toBe('enabled');
    expect(profiles.find((p) => p.iccid === second)!.state).toBe('disabled');
  });

  it('profile disable / nickname / delete with their result codes', async () => {
    const d = await cli(['profile', 'disable', first, '--json', ...h()]);
    expect(d.code).toBe(0);
    expect(d.json()).toEqual({ slot: 0, port: 0, iccid: first, resultCode: 0, result: 'RESULT_OK' });
    expect((await list()).every((p) => p.state === 'disabled')).toBe(true);

    const n = await cli(['profile', 'nickname', first, 'Work phone', '--json', ...h()]);
    expect(n.json()).toEqual({ slot: 0, iccid: first, nickname: 'Work phone', resultCode: 0, result: 'RESULT_OK' });
    expect((await list()).find((p) => p.iccid === first)!.nickname).toBe('Work phone');
    const long = await cli(['profile', 'nickname', first, 'x'.repeat(65), '--json', ...h()]);
    expect(long.code).toBe(2);
    expect(long.json<{ error: Json }>().error['code']).toBe(401);
    expect((await list()).find((p) => p.iccid === first)!.nickname).toBe('Work phone');

    expect((await cli(['profile', 'enable', second, ...h()])).code).toBe(0);
    const busy = await cli(['profile', 'delete', second, '--json', ...h()]);
    expect(busy.code).toBe(3);
    expect(busy.json()).toMatchObject({ iccid: second, resultCode: -1, result: 'RESULT_MUST_DISABLE_PROFILE' });
    const del = await cli(['profile', 'delete', first, ...h()]);
    expect(del).toMatchObject({ code: 0, out: `deleted ${first} from slot 0\n` });
    const again = await cli(['profile', 'delete', first, '--json', ...h()]);
    expect(again.code).toBe(3);
    expect(again.json()).toMatchObject({ resultCode: 270, result: 'RESULT_NOTHING_TO_DELETE' });
    expect(again.err).toMatch(/no such profile/);
    expect((await list()).map((p) => p.iccid)).toEqual([second]);
  });

  it('usage errors exit 2: a malformed ICCID (401 names the parameter), an unknown slot, a non-numeric --slot', async () => {
    const bad = await cli(['profile', 'enable', '12ab', '--json', ...h()]);
    expect(bad.code).toBe(2);
    const e = bad.json<{ error: { code: number; message: string } }>().error;
    expect(e.code).toBe(401);
    expect(e.message).toMatch(/iccid/);
    const slot = await cli(['profile', 'list', '--slot', '5', ...h()]);
    expect(slot.code).toBe(2);
    expect(slot.err).toMatch(/slotId/);
    const nan = await cli(['profile', 'list', '--slot', 'x', '--json', ...h()]);
    expect(nan.code).toBe(2);
    expect(nan.out).toBe('');
    expect(nan.err).toMatch(/--slot must be a non-negative integer/);
    const unknown = await cli(['profile', 'frobnicate', ...h()]);
    expect(unknown.code).toBe(2);
  });

  it('chip default-smdp: get, set, invalid address (exit 2), restore', async () => {
    const original = demo(home.home).smdpAddress;
    const get = await cli(['chip', 'default-smdp', '--slot', '1', ...h()]);
    expect(get).toMatchObject({ code: 0, out: `${original}\n` });
    const set = await cli(['chip', 'default-smdp', 'smdp.example.com:8443', '--slot', '1', '--json', ...h()]);
    expect(set.code).toBe(0);
    expect(set.json()).toEqual({ slot: 1, defaultSmdpAddress: 'smdp.example.com:8443', resultCode: 0, result: 'RESULT_OK' });
    expect((await cli(['chip', 'default-smdp', '--slot', '1', '--json', ...h()])).json()).toEqual({ slot: 1, defaultSmdpAddress: 'smdp.example.com:8443' });
    const bad = await cli(['chip', 'default-smdp', 'not an address', '--slot', '1', ...h()]);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/address/);
    expect((await cli(['chip', 'default-smdp', original, '--slot', '1', ...h()])).code).toBe(0);
    expect((await cli(['chip', 'default-smdp', '--slot', '1', ...h()])).out).toBe(`${original}\n`);
  });

  it('profile discovery: the default SM-DP+ order (empty matching id) and the SM-DS event of slot 1', async () => {
    const r = await cli(['profile', 'discovery', '--slot', '1', '--json', ...h()]);
    expect(r.code).toBe(0);
    const j = r.json<{ slot: number; resultCode: number; result: string; profiles: { activationCode: string; smdpAddress: string; matchingId: string }[] }>();
    expect(j.slot).toBe(1);
    expect(j.resultCode).toBe(0);
    expect(j.result).toBe('RESULT_OK');
    const address = demo(home.home).smdpAddress;
    expect(j.profiles.length).toBe(2);
    for (const p of j.profiles) {
      expect(p.smdpAddress).toBe(address);
      expect(p.activationCode).toBe(`LPA:1$${address}$${p.matchingId}`);
    }
    expect(j.profiles.map((p) => p.matchingId === '').sort()).toEqual([false, true]);
    const t = await cli(['profile', 'discovery', '--slot', '1', ...h()]);
    expect(t.out.split('\n')[0]).toMatch(/^SM-DP\+ +MATCHING ID +ACTIVATION CODE$/);
  });

  it('osu status / start: JSON with name and code, progress lines on stderr, already latest the second time', async () => {
    const s = await cli(['osu', 'status', '--slot', '1', '--json', ...h()]);
    expect(s.code).toBe(0);
    const sj = s.json();
    expect(Object.keys(sj).sort()).toEqual(['slot', 'status', 'statusCode']);
    expect(sj['slot']).toBe(1);
    const start = await cli(['osu', 'start', '--slot', '1', '--json', ...h()]);
    expect(start.code).toBe(0);
    expect(start.json()).toEqual({ slot: 1, status: 'successful', statusCode: 3, version: '1.1.0' });
    const lines = start.err.trim().split('\n').map((l) => JSON.parse(l) as Json);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.every((l) => l['progress'] === 'OS update' && l['slot'] === 1)).toBe(true);
    expect(lines.at(-1)).toMatchObject({ status: 'successful' });
    const info = (await cli(['chip', 'info', '--slot', '1', '--json', ...h()])).json();
    expect(info['osVersion']).toBe('1.1.0');
    const again = await cli(['osu', 'start', '--slot', '1', ...h()]);
    expect(again).toMatchObject({ code: 0, out: 'slot 1: the OS is up to date\n' });
    expect((await cli(['osu', 'status', '--slot', '1', '--json', ...h()])).json()).toEqual({ slot: 1, status: 'already-latest', statusCode: 4 });
  });

  it('profile pending: list, accept (download with progress), reject; no secrets in the output', async () => {
    const esim = createESim({ caller: SHELL_CALLER, home: home.home });
    const withCc = newOrder(service, { confirmationCode: '8731' });
    const plain = newOrder(service);
    try {
      expect(await esim.addProfile({ activationCode: plain.activationCode, carrierName: 'Example Mobile' })).toBe(true);
      expect(await esim.addProfile({ activationCode: withCc.activationCode, confirmationCode: '8731' })).toBe(true);
    } finally {
      await esim.close();
    }
    const l = await cli(['profile', 'pending', '--json', ...h()]);
    expect(l.code).toBe(0);
    const items = l.json<{ pending: Json[] }>().pending;
    expect(items.length).toBe(2);
    const address = service.demo!.smdpAddress;
    expect(items[0]).toEqual({ id: expect.any(String), slot: 0, smdpAddress: address, carrierName: 'Example Mobile', hasConfirmationCode: false, caller: 'shell', createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
    expect(items[1]).toMatchObject({ slot: 0, carrierName: null, hasConfirmationCode: true });
    const text = await cli(['profile', 'pending', 'list', ...h()]);
    expect(text.out).toMatch(/Example Mobile/);
    for (const o of [l, text]) {
      expect(o.out).not.toContain('8731');
      expect(o.out).not.toContain(plain.matchingId);
      expect(o.out).not.toContain(withCc.matchingId);
    }

    const acc = await cli(['profile', 'pending', 'accept', items[1]!['id'] as string, '--json', ...h()]);
    expect(acc.code).toBe(0);
    expect(acc.json()).toMatchObject({ id: items[1]!['id'], slot: 0, accepted: true, installed: true, iccid: withCc.iccid, resultCode: 0 });
    expect(acc.err).toMatch(/"step":"installing"/);
    const rej = await cli(['profile', 'pending', 'reject', items[0]!['id'] as string, '--json', ...h()]);
    expect(rej.code).toBe(0);
    expect(rej.json()).toEqual({ id: items[0]!['id'], accepted: false });
    expect((await cli(['profile', 'pending', ...h()])).out).toBe('no pending requests\n');
    expect((await list()).map((p) => p.iccid)).toContain(withCc.iccid);
    expect((await list()).map((p) => p.iccid)).not.toContain(plain.iccid);
    const gone = await cli(['profile', 'pending', 'accept', items[0]!['id'] as string, ...h()]);
    expect(gone.code).toBe(2);
    expect(gone.err).toMatch(/id names no pending/);
  });

  it('chip purge: refused without --yes off a terminal (2), declined (1), done with "yes", nothing left to delete (3)', async () => {
    const before = (await list()).length;
    expect(before).toBeGreaterThan(0);
    const noTty = await cli(['chip', 'purge', ...h()]);
    expect(noTty.code).toBe(2);
    expect(noTty.err).toMatch(/--yes/);
    const no = await cli(['chip', 'purge', ...h()], { answers: ['no'] });
    expect(no.code).toBe(1);
    expect(no.questions[0]!.question).toMatch(/every operational profile of the eUICC in slot 0/);
    expect((await list()).length).toBe(before);
    const yes = await cli(['chip', 'purge', '--json', ...h()], { answers: ['yes'] });
    expect(yes.code).toBe(0);
    expect(yes.json()).toEqual({ slot: 0, options: ['operational'], optionsMask: 1, resultCode: 0, result: 'RESULT_OK' });
    expect(await list()).toEqual([]);
    const again = await cli(['chip', 'purge', '--all', '--yes', '--json', ...h()]);
    expect(again.json()).toMatchObject({ options: ['operational', 'test', 'defaultSmdp'], optionsMask: 7 });
    expect([0, 3]).toContain(again.code);
    if (again.code === 3) expect(again.json()['resultCode']).toBe(270);
    // the default SM-DP+ address was reset by --all
    expect((await cli(['chip', 'default-smdp', '--json', ...h()])).json()).toEqual({ slot: 0, defaultSmdpAddress: '' });
  });

  it('exit 4 when the given daemon socket does not answer (3120001), as a JSON error document', async () => {
    const r = await cli(['profile', 'list', '--socket', `${home.home}/nobody.sock`, '--json', ...h()]);
    expect(r.code).toBe(4);
    expect(r.json<{ error: Json }>().error['code']).toBe(3120001);
    expect(r.err).toMatch(/3120001/);
  });
});

describe('help and completion', () => {
  it('every command has --help with an example', async () => {
    const program = createProgram({ stdout: () => {}, stderr: () => {} });
    const mine = ['chip', 'profile', 'notification', 'osu', 'completion'];
    const paths: string[][] = [];
    const walk = (c: { name(): string; commands: readonly unknown[] }, path: string[]): void => {
      for (const s of c.commands as { name(): string; commands: readonly unknown[] }[]) {
        const p = [...path, s.name()];
        paths.push(p);
        walk(s, p);
      }
    };
    walk(program, []);
    const checked = paths.filter((p) => mine.includes(p[0]!));
    expect(checked.length).toBeGreaterThanOrEqual(20);
    for (const p of checked) {
      const r = await cli([...p, '--help']);
      expect(r.code, p.join(' ')).toBe(0);
      expect(r.out, p.join(' ')).toMatch(/Examples?:\n {2}(esim|source) /);
    }
    const leaf = await cli(['profile', 'download', '--help']);
    for (const o of ['--slot', '--port', '--json', '--home', '-a, --activation-code', '-s, --smdp', '-m, --matching-id', '-c, --confirmation-code', '--qr', '--preview', '--enable', '--force', '--accept-ppr']) {
      expect(leaf.out).toContain(o);
    }
  });

  it('completion bash|zsh print scripts generated from the command tree; another shell is a usage error', async () => {
    const bash = await cli(['completion', 'bash']);
    expect(bash.code).toBe(0);
    expect(bash.out).toMatch(/complete -o default -F _esim_complete esim/);
    expect(bash.out).toContain('"profile download") words="');
    expect(bash.out).toContain('"profile pending accept") words="');
    const zsh = await cli(['completion', 'zsh']);
    expect(zsh.code).toBe(0);
    expect(zsh.out.startsWith('#compdef esim\n')).toBe(true);
    expect(zsh.out).toContain("'download:download a profile");
    expect((await cli(['completion', 'fish'])).code).toBe(2);
  });
});
