/**
 * The module-resolution hooks installed by `esimkit/register` (runs on Node's hooks thread). Only the
 * OpenHarmony kit specifiers are mapped; everything else goes to the next resolver unchanged. The target is
 * passed on to the next resolver too, so another loader (tsx) still loads it.
 */

/** OpenHarmony specifier → module file of this package (without extension). */
export const KIT_MODULES = Object.freeze({
  '@kit.TelephonyKit': 'kit-telephony',
  '@kit.BasicServicesKit': 'kit-basic-services',
  '@ohos.telephony.esim': 'kit-ohos-esim',
  '@ohos.base': 'kit-basic-services',
} as const);
export type KitName = keyof typeof KIT_MODULES;

interface ResolveContext {
  readonly conditions?: readonly string[];
  readonly importAttributes?: Record<string, string>;
  readonly parentURL?: string;
}
interface ResolveResult {
  readonly url: string;
  readonly format?: string | null;
  readonly shortCircuit?: boolean;
}
type NextResolve = (specifier: string, context?: ResolveContext) => ResolveResult | Promise<ResolveResult>;

let kits: Partial<Record<string, string>> = {};

export function initialize(data: { kits?: Record<string, string> } | undefined): void {
  kits = { ...(data?.kits ?? {}) };
}

export function resolve(specifier: string, context: ResolveContext, next: NextResolve): ResolveResult | Promise<ResolveResult> {
  const target = Object.prototype.hasOwnProperty.call(kits, specifier) ? kits[specifier] : undefined;
  return next(target ?? specifier, context);
}
