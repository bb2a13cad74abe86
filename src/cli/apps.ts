/**
 * `esim apps ...`: the registry of apps that may call the service (src/service/callers.ts). Works on the
 * home's SQLite database directly (WAL: safe while the daemon runs; the daemon sees changes on the next call).
 *
 *   esim apps add <bundleName> [--system] [--grant <perm...>]   prints the token once
 *   esim apps grant|revoke <bundleName> <permission>             GET, SET, SET_OPEN or ohos.permission.*
 *   esim apps list | remove <bundleName> | rotate-token <bundleName>
 * Every command takes --home DIR and --json.
 */
import { Command } from 'commander';
import { CallerRegistry, CallerRegistryError, normalizePermission, type AppEntry } from '../service/callers.js';
import { CliFailure, CliUsageError, type CliIo } from './io.js';

interface CommonOpts {
  home?: string;
  json?: boolean;
}

/** The home module (which can build the embedded default) is loaded only when a command runs: `esim` starts faster. */
async function withRegistry<T>(opts: CommonOpts, f: (r: CallerRegistry) => T): Promise<T> {
  const [{ defaultHome, ensureHome }, { openServiceStore }] = await Promise.all([import('../service/home.js'), import('../service/store.js')]);
  const { paths } = ensureHome(opts.home ?? defaultHome());
  const store = openServiceStore(paths.serviceDb);
  try {
    return f(new CallerRegistry(store.db, { shellTokenFile: paths.shellToken }));
  } catch (e) {
    if (e instanceof CallerRegistryError) throw e.kind === 'invalid' ? new CliUsageError(e.message) : new CliFailure(e.message);
    throw e;
  } finally {
    store.close();
  }
}

function shortPerm(p: string): string {
  return p.replace(/^ohos\.permission\./, '');
}

function appLine(a: AppEntry): string {
  return `${a.bundleName.padEnd(32)} ${(a.systemApp ? 'system' : 'normal').padEnd(7)} ${a.permissions.map(shortPerm).join(', ') || '-'}`;
}

function common(cmd: Command): Command {
  return cmd.option('--home <dir>', 'esimkit home (default: $ESIM_HOME or ~/.esimkit)').option('--json', 'print JSON');
}

/** Check permission names before touching the db (usage error, exit 2). */
function checkPermissions(perms: readonly string[]): string[] {
  try {
    return perms.map(normalizePermission);
  } catch (e) {
    throw new CliUsageError(e instanceof Error ? e.message : String(e));
  }
}

export function registerAppsCommands(program: Command, io: CliIo): void {
  const apps = program
    .command('apps')
    .description('apps allowed to call the service: register, grant/revoke permissions, tokens')
    .addHelpText('after', '\nExamples:\n  esim apps add com.example.esim --system --grant GET SET\n  esim apps revoke com.example.esim SET\n  esim apps list --json');

  common(
    apps
      .command('add <bundleName>')
      .description('register an app and print its token (shown once: store it now)')
      .option('--system', 'a system application (may call the system API)')
      .option('--grant <permission...>', 'permissions: GET, SET, SET_OPEN or full ohos.permission names')
      .addHelpText('after', '\nExample:\n  esim apps add com.example.esim --system --grant GET SET'),
  ).action(async (bundleName: string, opts: CommonOpts & { system?: boolean; grant?: string[] }) => {
    const permissions = checkPermissions(opts.grant ?? []);
    const systemApp = opts.system === true;
    const { token } = await withRegistry(opts, (r) => r.add(bundleName, { systemApp, permissions }));
    if (opts.json) io.stdout(JSON.stringify({ bundleName, systemApp, permissions: [...new Set(permissions)].sort(), token }) + '\n');
    else io.stdout(`registered ${bundleName} (${systemApp ? 'system' : 'normal'} app)\ntoken: ${token}\n(the token is shown only once; rotate-token makes a new one)\n`);
  });

  for (const verb of ['grant', 'revoke'] as const) {
    common(
      apps
        .command(`${verb} <bundleName> <permission>`)
        .description(`${verb} a permission (GET, SET, SET_OPEN or a full ohos.permission name)`)
        .addHelpText('after', `\nExample:\n  esim apps ${verb} com.example.esim SET`),
    ).action(async (bundleName: string, permission: string, opts: CommonOpts) => {
      const [p] = checkPermissions([permission]);
      const app = await withRegistry(opts, (r) => {
        r[verb](bundleName, p!);
        return r.get(bundleName)!;
      });
      if (opts.json) io.stdout(JSON.stringify(app) + '\n');
      else io.stdout(`${verb === 'grant' ? 'granted' : 'revoked'} ${shortPerm(p!)} ${verb === 'grant' ? 'to' : 'from'} ${bundleName}\n${appLine(app)}\n`);
    });
  }

  common(apps.command('list').description('list the registered apps (never their tokens)').addHelpText('after', '\nExample:\n  esim apps list --json')).action(async (opts: CommonOpts) => {
      const list = await withRegistry(opts, (r) => r.list());
      if (opts.json) io.stdout(JSON.stringify(list) + '\n');
      else if (list.length === 0) io.stdout('no apps registered (esim apps add <bundleName> ...)\n');
      else io.stdout(`${'BUNDLE'.padEnd(32)} ${'KIND'.padEnd(7)} PERMISSIONS\n` + list.map(appLine).join('\n') + '\n');
    },
  );

  common(apps.command('remove <bundleName>').description('unregister an app (its token stops working at once)').addHelpText('after', '\nExample:\n  esim apps remove com.example.esim')).action(async (bundleName: string, opts: CommonOpts) => {
      await withRegistry(opts, (r) => r.remove(bundleName));
      io.stdout(opts.json ? JSON.stringify({ bundleName, removed: true }) + '\n' : `removed ${bundleName}\n`);
    },
  );

  common(
    apps
      .command('rotate-token <bundleName>')
      .description('give an app a new token (the old one stops working at once); prints it once')
      .addHelpText('after', '\nExample:\n  esim apps rotate-token com.example.esim'),
  ).action(async (bundleName: string, opts: CommonOpts) => {
    const { token } = await withRegistry(opts, (r) => r.rotate(bundleName));
    io.stdout(opts.json ? JSON.stringify({ bundleName, token }) + '\n' : `new token for ${bundleName}: ${token}\n(the token is shown only once)\n`);
  });
}
