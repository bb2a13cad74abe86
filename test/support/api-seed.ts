/**
 * The seed of the eSIM API (../shared/seed/esim-system-api.md, or $ESIM_SEED_FILE), parsed at test time: its
 * functions (parameters, permission, example), enums (member values) and interfaces (fields). The seed is
 * project input, read and never copied; tests that need it skip with a visible reason when it is absent
 * (failing instead under ESIM_REQUIRE_SYSTEM_TESTS=1), like test/support/reference.ts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'vitest';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SEED_FILE = process.env.ESIM_SEED_FILE ?? resolve(repoRoot, '..', 'shared', 'seed', 'esim-system-api.md');
export const HAVE_SEED = existsSync(SEED_FILE);
const REQUIRE = process.env.ESIM_REQUIRE_SYSTEM_TESTS === '1';

export interface SeedParam {
  readonly name: string;
  readonly type: string;
  readonly optional: boolean;
}
export interface SeedFunction {
  readonly name: string;
  readonly params: readonly SeedParam[];
  readonly permission: string | undefined;
  readonly systemApi: boolean;
  /** The example's code (the ```ts block of the section). */
  readonly example: string | undefined;
}
export interface SeedEnum {
  readonly name: string;
  readonly members: readonly { readonly name: string; readonly value: number }[];
}
export interface SeedInterface {
  readonly name: string;
  readonly fields: readonly { readonly name: string; readonly type: string; readonly mandatory: boolean }[];
}
export interface Seed {
  readonly functions: readonly SeedFunction[];
  readonly enums: readonly SeedEnum[];
  readonly interfaces: readonly SeedInterface[];
}

/** `1`, `-2`, `1 << 2`. */
function enumValue(text: string): number {
  const m = /^(-?\d+)(?:\s*<<\s*(\d+))?$/.exec(text.trim());
  if (!m) throw new Error(`seed: cannot read enum value "${text}"`);
  return m[2] === undefined ? Number(m[1]) : Number(m[1]) << Number(m[2]);
}

export function parseSeed(text: string): Seed {
  const functions: SeedFunction[] = [];
  const enums: SeedEnum[] = [];
  const interfaces: SeedInterface[] = [];
  for (const section of text.split(/^## /m).slice(1)) {
    const fm = /^eSIM\.([A-Za-z_]\w*?)\d+\+\s+\w+\\\((.*?)\\\)/.exec(section);
    if (fm) {
      const params = (fm[2] ?? '')
        .split(',')
        .map((p) => p.trim())
        .filter((p) => p.length > 0)
        .map((p) => {
          const pm = /^(\w+)(\?)?:\s*(.+)$/.exec(p);
          if (!pm) throw new Error(`seed: cannot read parameter "${p}" of ${fm[1]}`);
          return { name: pm[1]!, type: pm[3]!.trim(), optional: pm[2] === '?' };
        });
      const code = /```ts\s*([\s\S]*?)```/.exec(section);
      functions.push({
        name: fm[1]!,
        params,
        permission: /\*\*Required permission\*\*:\s*(\S+)/.exec(section)?.[1],
        systemApi: /\*\*System API\*\*:\s*This is a system API/.test(section),
        example: code?.[1]?.trim(),
      });
      continue;
    }
    const name = /^(\w+?)\d+\+/.exec(section)?.[1];
    if (!name) continue;
    if (/\|\s*Name\s*\|\s*Value\s*\|/.test(section)) {
      const members = [...section.matchAll(/^\|\s*([A-Z][A-Z0-9_]*)\s*\|\s*([^|]+?)\s*\|/gm)].map((m) => ({ name: m[1]!, value: enumValue(m[2]!) }));
      enums.push({ name, members });
    } else if (/\|\s*Name\s*\|\s*Type\s*\|\s*Mandatory\s*\|/.test(section)) {
      const fields = [...section.matchAll(/^\|\s*(\w+)\s*\|\s*([^|]+?)\s*\|\s*(Yes|No)\s*\|/gm)].map((m) => ({
        name: m[1]!,
        type: m[2]!.trim(),
        mandatory: m[3] === 'Yes',
      }));
      interfaces.push({ name, fields });
    }
  }
  return { functions, enums, interfaces };
}

let cached: Seed | undefined;
export function seed(): Seed {
  cached ??= parseSeed(readFileSync(SEED_FILE, 'utf8'));
  return cached;
}

const MISSING = `seed not found at ${SEED_FILE} (set ESIM_SEED_FILE)`;

/** `describe` for a block that needs the seed (see the file comment). */
export function describeWithSeed(name: string, fn: () => void): void {
  if (HAVE_SEED) describe(name, fn);
  else if (REQUIRE) {
    describe(name, () => {
      it('needs the seed', () => {
        throw new Error(`${MISSING}; ESIM_REQUIRE_SYSTEM_TESTS=1 forbids skipping`);
      });
    });
  } else describe.skip(`${name} [skipped: ${MISSING}]`, fn);
}
