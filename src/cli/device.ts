/**
 * `esim device factory-reset [--yes] [--home DIR] [--socket PATH] [--json]`: the device's factory reset of
 * every eUICC, honouring reserveProfilesForFactoryRestore (operational profiles kept on a reserved slot,
 * erased otherwise; the flags are cleared). Asks for confirmation on a terminal unless --yes (without a
 * terminal, --yes is required). Runs through the daemon when one answers on the home, else in-process.
 */
import { createInterface } from 'node:readline/promises';
import { Command } from 'commander';
import { ServiceError } from '../service/protocol.js';
import { CliFailure, CliUsageError, type CliIo } from './io.js';

type ResetResult = { slotId: number; resultCode: number; kept: boolean }[];

async function confirmOnTty(io: CliIo): Promise<boolean> {
  if (!process.stdin.isTTY) throw new CliUsageError('factory-reset erases profiles: run it on a terminal to confirm, or pass --yes');
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  const onAbort = (): void => rl.close();
  io.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const answer = await rl.question(
      'Factory reset: every eUICC loses its profiles, except operational profiles of slots reserved with\n' +
        'reserveProfilesForFactoryRestore. Type "yes" to continue: ',
    );
    return answer.trim().toLowerCase() === 'yes';
  } catch {
    return false;
  } finally {
    io.signal?.removeEventListener('abort', onAbort);
    rl.close();
  }
}

export async function factoryResetHome(home: string, o: { socket?: string } = {}): Promise<{ via: 'daemon' | 'in-process'; results: ResetResult }> {
  // loaded when needed: `esim` starts faster
  const [{ connectToDaemon, readDaemonLock }, { readShellToken }, { EsimService }] = await Promise.all([
    import('../service/daemon-client.js'),
    import('../service/home-paths.js'),
    import('../service/service.js'),
  ]);
  const backend = await connectToDaemon(home, { ...(o.socket ? { socket: o.socket } : {}), token: readShellToken(home) });
  if (backend) {
    try {
      return { via: 'daemon', results: await backend.factoryReset() };
    } finally {
      await backend.close();
    }
  }
  const lock = readDaemonLock(home);
  if (lock?.alive) {
    throw new CliFailure(`a daemon (pid ${lock.pid}) runs on ${home} but its socket ${lock.socket ?? '?'} does not answer; not touching its cards`);
  }
  const service = await EsimService.open({ home, startDemoServers: false, unref: true });
  try {
    return { via: 'in-process', results: await service.factoryReset() };
  } finally {
    await service.close();
  }
}

export function registerDeviceCommands(program: Command, io: CliIo): void {
  const device = program.command('device').description('device-level operations (factory reset)');
  device
    .command('factory-reset')
    .description('factory reset of every eUICC, honouring reserveProfilesForFactoryRestore')
    .option('--yes', 'do not ask for confirmation')
    .option('--home <dir>', 'esimkit home (default: $ESIM_HOME or ~/.esimkit)')
    .option('--socket <path>', "the daemon's socket (default: the running daemon's, else <home>/esim.sock)")
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  esim device factory-reset --yes')
    .action(async (opts: { yes?: boolean; home?: string; socket?: string; json?: boolean }) => {
      if (!opts.yes && !(await confirmOnTty(io))) throw new CliFailure('factory reset cancelled');
      const home = opts.home ?? (await import('../service/home-paths.js')).defaultHome();
      let r;
      try {
        r = await factoryResetHome(home, opts.socket ? { socket: opts.socket } : {});
      } catch (e) {
        if (e instanceof ServiceError) throw new CliFailure(`factory reset failed: ${e.message} (${e.code})`);
        throw e;
      }
      if (opts.json) {
        io.stdout(JSON.stringify({ via: r.via, slots: r.results }) + '\n');
        return;
      }
      for (const s of r.results) {
        io.stdout(`slot ${s.slotId}: ${s.resultCode === 0 ? 'reset' : `result ${s.resultCode}`}${s.kept ? ' (operational profiles kept: reserved)' : ''}\n`);
      }
      io.stdout(`factory reset done (${r.via === 'daemon' ? 'through the daemon' : 'in-process'})\n`);
      if (r.results.some((s) => s.resultCode !== 0)) throw new CliFailure('factory reset failed on some slots');
    });
}
