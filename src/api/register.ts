/**
 * `node --import esimkit/register app.mjs` (or with tsx: `node --import tsx --import esimkit/register app.ts`):
 * Node module hooks so that code written for OpenHarmony runs unchanged:
 *
 *   import { eSIM } from '@kit.TelephonyKit';             → esimkit's eSIM namespace
 *   import { BusinessError } from '@kit.BasicServicesKit'; → esimkit's BusinessError
 *   import eSIM from '@ohos.telephony.esim';               → the same namespace (default export)
 *   import { BusinessError } from '@ohos.base';            → BusinessError
 *
 * The kits resolve to modules of this package (the same module instances as `import ... from 'esimkit'`).
 * Types for TypeScript: `"types": ["esimkit/kits"]` in tsconfig.json (types/kits.d.ts).
 * ESM `import` only (Node's module.register hooks do not apply to require()).
 */
import * as nodeModule from 'node:module';
import { KIT_MODULES, type KitName } from './register-hooks.js';

const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
const kits = Object.fromEntries(
  (Object.keys(KIT_MODULES) as KitName[]).map((k) => [k, new URL(`./${KIT_MODULES[k]}${ext}`, import.meta.url).href]),
) as Record<KitName, string>;

const register = (nodeModule as { register?: (specifier: string | URL, options?: { parentURL?: string | URL; data?: unknown }) => void }).register;
if (typeof register !== 'function') {
  throw new Error(`esimkit/register needs node:module register() (Node >= 20.6); this is Node ${process.versions.node}`);
}
register(new URL(`./register-hooks${ext}`, import.meta.url), { parentURL: import.meta.url, data: { kits } });

/** The module each OpenHarmony specifier resolves to (file URLs). */
export const kitModuleUrls: Readonly<Record<KitName, string>> = Object.freeze(kits);
