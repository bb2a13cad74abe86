/**
 * `esim` as a child process on a temporary ESIM_HOME (embedded service in the child):
 * - Ctrl-C (SIGINT) in the middle of `esim profile download`: the download is slowed by a TCP relay that
 *   delays every answer of the demo SM-DP+ (the home's demo SM-DP+ is told to call itself by the relay's
 *   address); after the child says "download cancelled" and exits 130, the card has neither the profile
 *   nor an RSP session, and the SM-DP+ cancelled the order (END_USER_REJECTION ends it).
 * - On a terminal (a pseudo-terminal from util-linux `script`): colour, the progress bar, the --preview
 *   questions answered on the terminal, a confirmation code typed without echo.
 * - The bash and zsh completion scripts, run by the shells.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProfilePackage } from '../src/asn1/saip.js';
import { homePaths } from '../src/service/home.js';
import { SHELL_CALLER } from '../src/service/protocol.js';
import { EsimService } from '../src/service/service.js';
import { SmdpInventory } from '../src/smdp/inventory.js';
import { cli, esimCommandLine, spawnCli, spawnProcess } from './support/cli.js';
import { REQUIRE_SYSTEM_TESTS } from './support/reference.js';
import { makeHome, newIccid } from './support/service.js';

type Json = Record<string, unknown>;

/** A TCP relay on 127.0.0.1:`port` to 127.0.0.1:`target` that holds every chunk coming back from the target for `delayMs`. */
async function slowRelay(port: number, target: number, delayMs: number): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(target, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => {
      upstream.pause();
      setTimeout(() => {
        if (!client.destroyed) client.write(chunk);
        upstream.resume();
      }, delayMs);
    });
    upstream.on('end', () => client.end());
  });
  await new Promise<void>((ok, ko) => {
    server.once('error', ko);
    server.listen(port, '127.0.0.1', ok);
  });
  return {
    port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** A free port (bound then released). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** A new order on the home's demo SM-DP+ database (no service running). */
function demoOrder(home: string, o: { confirmationCode?: string } = {}): { iccid: string; matchingId: string } {
  const inv = new SmdpInventory(join(homePaths(home).demoDir, 'smdp.db'));
  try {
    const iccid = newIccid();
    inv.addProfile(buildProfilePackage({ iccid }), { serviceProviderName: 'esimkit test', profileName: `test ${iccid}` });
    const { matchingId } = inv.createOrder({ iccid, ...(o.confirmationCode !== undefined && { confirmationCode: o.confirmationCode }) });
    return { iccid, matchingId };
  } finally {
    inv.close();
  }
}

describe('Ctrl-C during esim profile download (child process, embedded service)', () => {
  let home: ReturnType<typeof makeHome>;
  let relay: { port: number; close(): Promise<void> };

  beforeAll(async () => {
    const relayPort = await freePort();
    home = makeHome((slots) => {
      const demo = slots['demo'] as { smdp: { address: string } };
      demo.smdp.address = `localhost:${relayPort}`; // the SM-DP+ answers for the relay's address
    });
    const slots = JSON.parse(readFileSync(homePaths(home.home).slotsFile, 'utf8')) as { demo: { smdp: { port: number } } };
    relay = await slowRelay(relayPort, slots.demo.smdp.port, 400);
  });
  afterAll(async () => {
    await relay.close();
    home.remove();
  });

  it('SIGINT mid-download: cancelSession with the transactionId, "download cancelled", exit 130; card and server clean', async () => {
    const order = demoOrder(home.home);
    const code = `LPA:1$localhost:${relay.port}$${order.matchingId}`;
    const child = await spawnCli(['profile', 'download', '-a', code, '--json', '--home', home.home]);
    await child.waitFor((o) => /"step":"downloading"/.test(o.stderr), 90_000);
    child.child.kill('SIGINT');
    const exit = await child.exit;
    expect(exit, child.stderr).toBe(130);
    expect(child.stderr).toMatch(/esim: download cancelled\n$/);
    const doc = JSON.parse(child.stdout) as Json;
    expect(doc).toMatchObject({ slot: 0, installed: false, iccid: null, cancelled: true, enabled: false });
    expect(doc['resultCode']).not.toBe(0);
    const tid = doc['transactionId'] as string;
    expect(tid).toMatch(/^[0-9A-F]{32}$/);
    const progress = child.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Json);
    expect(progress.some((p) => p['transactionId'] === tid && p['step'] === 'downloading')).toBe(true);
    expect(child.stderr).not.toContain(order.matchingId);

    // the card: no profile, no session (ES10b CancelSession of that transactionId is unknown: 215)
    const svc = await EsimService.open({ home: home.home, unref: true });
    try {
      const list = (await svc.invoke(SHELL_CALLER, 'getEuiccProfileInfoList', [0])) as { profiles: { iccid: string }[] };
      expect(list.profiles.map((p) => p.iccid)).not.toContain(order.iccid);
      expect(await svc.invoke(SHELL_CALLER, 'cancelSession', [0, tid, 0])).toBe(215);
      expect(await svc.invoke(SHELL_CALLER, 'runningDownloads', [0])).toEqual([]);
      // the server: the session is gone and the order ended by the user's rejection
      expect(svc.demo!.smdp.inventory.order(order.matchingId)?.state).toBe('cancelled');
      expect(svc.demo!.smdp.inventory.session(tid)).toBeUndefined();
    } finally {
      await svc.close();
    }
  });
});

const haveScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;
const skipTerminal = !haveScript && !REQUIRE_SYSTEM_TESTS;
const terminalTitle = 'esim on a terminal (pseudo-terminal from `script`)';

describe.skipIf(skipTerminal)(skipTerminal ? `${terminalTitle} [skipped: needs util-linux \`script\` (apt-get install util-linux)]` : terminalTitle, () => {
  let home: ReturnType<typeof makeHome>;
  let nodeArgs: string;
  beforeAll(async () => {
    if (!haveScript) throw new Error('util-linux `script` is missing; ESIM_REQUIRE_SYSTEM_TESTS=1 forbids skipping');
    home = makeHome();
    nodeArgs = (await esimCommandLine()).map((a) => `'${a}'`).join(' ');
  });
  afterAll(() => home?.remove());

  const onTty = (args: string, env: Record<string, string | undefined> = {}) =>
    spawnProcess('script', ['-qefc', `${nodeArgs} ${args}`, '/dev/null'], env);

  it('profile download --preview on a terminal: the questions, a hidden confirmation code, the bar, colour', async () => {
    const order = demoOrder(home.home, { confirmationCode: '9173' });
    const code = `LPA:1$${(JSON.parse(readFileSync(join(home.home, 'demo.json'), 'utf8')) as { smdpAddress: string }).smdpAddress}$${order.matchingId}`;
    const run = await onTty(`profile download -a '${code}' --preview --home '${home.home}'`, { NO_COLOR: undefined, TERM: 'xterm' });
    await run.waitFor((o) => o.stdout.includes('Confirmation code: '));
    run.child.stdin!.write('9173\r');
    await run.waitFor((o) => o.stdout.includes('Install this profile on slot 0? [y/N] '));
    expect(run.stdout).toMatch(/Profile to download:/);
    expect(run.stdout).toContain(order.iccid);
    run.child.stdin!.write('y\r');
    expect(await run.exit).toBe(0);
    expect(run.stdout).not.toContain('9173');
    expect(run.stdout).toMatch(/\r\x1b\[Kdownload \[█+░*\] +\d+% installing \d+\/\d+/);
    expect(run.stdout).toContain(`\x1b[32minstalled\x1b[0m profile ${order.iccid} on slot 0`);
  });

  it('profile list on a terminal is coloured; NO_COLOR=1 is plain', async () => {
    const coloured = await onTty(`profile list --home '${home.home}'`, { NO_COLOR: undefined, TERM: 'xterm' });
    expect(await coloured.exit).toBe(0);
    expect(coloured.stdout).toMatch(/\x1b\[1mICCID +STATE/);
    expect(coloured.stdout).toContain('\x1b[2mdisabled\x1b[0m');
    const plain = await onTty(`profile list --home '${home.home}'`, { NO_COLOR: '1', TERM: 'xterm' });
    expect(await plain.exit).toBe(0);
    expect(plain.stdout).toMatch(/ICCID +STATE +CLASS/);
    expect(plain.stdout).not.toMatch(/\x1b\[[0-9;]*m/);
  });
});

describe('shell completion scripts run by the shells', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'esimkit-completion-'));
    writeFileSync(join(dir, 'code.png'), '');
    writeFileSync(join(dir, 'code.jpg'), '');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('bash: subcommands, options of the current command, file names after --qr', async () => {
    const script = (await cli(['completion', 'bash'])).out;
    const file = join(dir, 'esim.bash');
    writeFileSync(file, script);
    const complete = (...words: string[]): string[] => {
      const quoted = words.map((w) => `'${w}'`).join(' ');
      const out = execFileSync('bash', ['-c', `source '${file}'; COMP_WORDS=(${quoted}); COMP_CWORD=${words.length - 1}; _esim_complete; printf '%s\\n' "\${COMPREPLY[@]}"`], { cwd: dir, encoding: 'utf8' });
      return out.split('\n').filter((l) => l !== '');
    };
    expect(complete('esim', '')).toEqual(expect.arrayContaining(['chip', 'profile', 'notification', 'osu', 'completion', 'serve', 'apps', 'device', 'card']));
    expect(complete('esim', 'profile', 'd').sort()).toEqual(['delete', 'disable', 'discovery', 'download']);
    expect(complete('esim', '--json', 'profile', 'pending', '')).toEqual(expect.arrayContaining(['list', 'accept', 'reject']));
    expect(complete('esim', 'chip', 'purge', '--')).toEqual(expect.arrayContaining(['--operational', '--test', '--default-smdp', '--all', '--yes', '--slot', '--json', '--help']));
    expect(complete('esim', 'profile', 'download', '--qr', 'code').sort()).toEqual(['code.jpg', 'code.png']);
    expect(complete('esim', 'profile', 'list', '--slot', '')).toEqual([]);
  });

  const haveZsh = spawnSync('zsh', ['--version']).status === 0;
  it.skipIf(!haveZsh && !REQUIRE_SYSTEM_TESTS)('zsh: valid script; commands with descriptions, options, files after --qr (zsh missing: skipped)', async () => {
    if (!haveZsh) throw new Error('zsh is missing; ESIM_REQUIRE_SYSTEM_TESTS=1 forbids skipping');
    const file = join(dir, '_esim');
    writeFileSync(file, (await cli(['completion', 'zsh'])).out);
    expect(spawnSync('zsh', ['-n', file]).status).toBe(0);
    const harness = `
compdef() { print -r -- "compdef $*" }
_describe() { print -rl -- "\${(@P)4}" }
_files() { print -r -- FILES }
_message() { print -r -- MESSAGE }
source '${file}'
words=(esim profile d); CURRENT=3; _esim; print -r -- ---
words=(esim profile download --qr ''); CURRENT=5; _esim; print -r -- ---
words=(esim chip purge --); CURRENT=4; _esim
`;
    const out = execFileSync('zsh', ['-f', '-c', harness], { encoding: 'utf8' });
    const [head, files, opts] = out.split('---\n');
    expect(head).toMatch(/^compdef _esim esim\n/);
    expect(head).toContain('download:download a profile from an activation code');
    expect(head).toContain('discovery:profiles waiting for this eUICC');
    expect(files).toBe('FILES\n');
    expect(opts).toContain('--yes:do not ask for confirmation');
    expect(opts).toContain('--default-smdp:reset the default SM-DP+ address');
  });
});
