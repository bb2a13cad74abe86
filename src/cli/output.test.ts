import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { completionTree } from './completion.js';
import { CliExitError, CliUsageError } from './io.js';
import { eventName } from './notification.js';
import {
  describeResult,
  exitCodeOfError,
  failure,
  osuStatusName,
  outFor,
  paint,
  policyRuleNames,
  resultName,
  solvableErrorNames,
  table,
  type LpaIo,
} from './output.js';

function io(tty: boolean, env: Record<string, string> = {}): LpaIo & { out: string[] } {
  const out: string[] = [];
  return { out, stdout: (s) => void out.push(s), stderr: () => {}, isTTY: { stdout: tty, stderr: tty, stdin: false }, env };
}

describe('cli output', () => {
  it('colour only on a terminal without NO_COLOR, never with --json', () => {
    expect(outFor(io(true), false).color).toBe(true);
    expect(outFor(io(true, { NO_COLOR: '1' }), false).color).toBe(false);
    expect(outFor(io(true, { NO_COLOR: '' }), false).color).toBe(true);
    expect(outFor(io(false), false).color).toBe(false);
    expect(outFor(io(true), true).color).toBe(false);
    expect(paint(outFor(io(true), false), 'green', 'x')).toBe('\x1b[32mx\x1b[0m');
    expect(paint(outFor(io(false), false), 'green', 'x')).toBe('x');
  });

  it('table: columns padded by visible width (colour codes ignored), empty cells as "-", no trailing spaces', () => {
    const out = outFor(io(true), false);
    const t = table(out, ['A', 'BB', 'C'], [
      [paint(out, 'green', 'enabled'), '', 'x'],
      ['d', 'long value', ''],
    ]);
    const plain = t.replace(/\x1b\[[0-9;]*m/g, '');
    expect(plain).toBe('A        BB          C\nenabled  -           x\nd        long value  -\n');
  });

  it('names of result codes, bit masks, OS update states, notification events', () => {
    expect(resultName(0)).toBe('RESULT_OK');
    expect(resultName(-1)).toBe('RESULT_MUST_DISABLE_PROFILE');
    expect(resultName(999)).toBe('RESULT_999');
    expect(describeResult(270)).toBe('no such profile (or nothing to delete) (RESULT_NOTHING_TO_DELETE, 270)');
    expect(describeResult(999)).toBe('refused (RESULT_999, 999)');
    expect(policyRuleNames(0)).toEqual([]);
    expect(policyRuleNames(7)).toEqual(['disableNotAllowed', 'deleteNotAllowed', 'disableAndDelete']);
    expect(solvableErrorNames(3)).toEqual(['confirmationCode', 'policyRules']);
    expect([1, 2, 3, 4, 5, 9].map(osuStatusName)).toEqual(['in-progress', 'failed', 'successful', 'already-latest', 'service-unavailable', 'status-9']);
    expect(['notificationInstall', 'notificationDelete', 'unknown'].map(eventName)).toEqual(['install', 'delete', 'unknown']);
  });

  it('exit codes of BusinessError codes; failure() prints one JSON error document with --json, once', () => {
    expect([401, 201, 202, 3120001, 801, 3120002].map(exitCodeOfError)).toEqual([2, 5, 5, 4, 1, 1]);
    const o = io(false);
    const out = outFor(o, true);
    const e = failure(out, Object.assign(new Error('Permission denied: x needs y'), { name: 'BusinessError', code: 201 }));
    expect(e).toBeInstanceOf(CliExitError);
    expect((e as CliExitError).exitCode).toBe(5);
    expect(JSON.parse(o.out.join(''))).toEqual({ error: { code: 201, message: 'Permission denied: x needs y' } });
    const u = new CliUsageError('bad');
    expect(failure(out, u)).toBe(u);
    expect(failure(out, u)).toBe(u);
    expect(o.out.length).toBe(2); // the usage error was printed once
    expect((failure(outFor(io(false), false), new Error('boom')) as CliExitError).exitCode).toBe(1);
  });

  it('completion tree: hidden commands and options left out, help added, file options recognised', () => {
    const p = new Command('x');
    p.command('a').option('--home <dir>', 'home').option('--n <count>', 'n');
    p.command('secret', { hidden: true });
    const tree = completionTree(p);
    expect(tree.map((n) => n.path)).toEqual(['', 'a']);
    const a = tree.find((n) => n.path === 'a')!;
    expect(a.options.map((o) => [o.names, o.takesValue, o.file])).toEqual([
      [['--home'], true, true],
      [['--n'], true, false],
      [['-h', '--help'], false, false],
    ]);
  });
});
