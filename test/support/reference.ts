/**
 * Access to the shared public reference material (../shared/reference from the repository root, or
 * $ESIM_REFERENCE_DIR). It is read at test time and never copied into this repository.
 *
 * When it is absent, tests that need it are skipped with a visible reason — unless
 * ESIM_REQUIRE_SYSTEM_TESTS=1 (set by .ci/run), in which case they fail.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'vitest';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export const REFERENCE_DIR = process.env.ESIM_REFERENCE_DIR ?? resolve(repoRoot, '..', 'shared', 'reference');
export const REQUIRE_SYSTEM_TESTS = process.env.ESIM_REQUIRE_SYSTEM_TESTS === '1';
export const HAVE_REFERENCE = existsSync(join(REFERENCE_DIR, 'README.md'));

const MISSING = `reference material not found at ${REFERENCE_DIR} (set ESIM_REFERENCE_DIR)`;

/** Path of a file in the reference folder. */
export function refPath(...parts: string[]): string {
  return join(REFERENCE_DIR, ...parts);
}

export function readRef(...parts: string[]): Uint8Array {
  return new Uint8Array(readFileSync(refPath(...parts)));
}

export function readRefText(...parts: string[]): string {
  return readFileSync(refPath(...parts), 'utf8');
}

export function readRefJson<T = unknown>(...parts: string[]): T {
  return JSON.parse(readRefText(...parts)) as T;
}

/**
 * `describe` for a block that needs the reference material: skipped with a visible reason when it is
 * missing, failing instead when ESIM_REQUIRE_SYSTEM_TESTS=1.
 */
export function describeWithReference(name: string, fn: () => void): void {
  if (HAVE_REFERENCE) {
    describe(name, fn);
  } else if (REQUIRE_SYSTEM_TESTS) {
    describe(name, () => {
      it('needs the reference material', () => {
        throw new Error(`${MISSING}; ESIM_REQUIRE_SYSTEM_TESTS=1 forbids skipping`);
      });
    });
  } else {
    describe.skip(`${name} [skipped: ${MISSING}]`, fn);
  }
}
