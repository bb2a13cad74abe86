/**
 * Factory reset of one card (`esim device factory-reset`, EsimService.factoryReset), honouring
 * reserveProfilesForFactoryRestore (ARCHITECTURE.md §3), with ES10c eUICCMemoryReset on a logical channel to
 * the ISD-R:
 *
 * | reserved | resetOptions | effect |
 * |---|---|---|
 * | true  | deleteFieldLoadedTestProfiles | operational (and provisioning) profiles and the default SM-DP+ address are kept; test profiles go |
 * | false | deleteOperationalProfiles + deleteFieldLoadedTestProfiles + resetDefaultSmdpAddress | every operational and test profile goes, the default SM-DP+ address is reset |
 *
 * resultCode (ResultCode numbers): ok → RESULT_OK (0); nothingToDelete → RESULT_OK too (the card already is in
 * the state a factory reset leaves; `result` tells the two apart); catBusy → RESULT_CAT_BUSY (283); any other
 * answer → RESULT_SGP_22_OTHER (400). Transport and APDU failures reject (the caller maps them).
 */
import { ApduChannel, type ApduChannelOptions } from '../apdu/channel.js';
import type { ApduTransport } from '../apdu/transport.js';
import { euiccMemoryReset, type MemoryResetOptions } from '../lpa/es10c.js';

export const FACTORY_RESULT_OK = 0;
export const FACTORY_RESULT_CAT_BUSY = 283;
export const FACTORY_RESULT_OTHER = 400;

/** The eUICCMemoryReset options of a factory reset. */
export function factoryResetOptions(reserved: boolean): MemoryResetOptions {
  return reserved
    ? { deleteFieldLoadedTestProfiles: true }
    : { deleteOperationalProfiles: true, deleteFieldLoadedTestProfiles: true, resetDefaultSmdpAddress: true };
}

/** reserved → keeps operational profiles (deletes field-loaded test profiles only); else deletes operational + test profiles and resets the default SM-DP+ address. Runs on an open transport (the caller holds the card queue). */
export async function factoryResetCard(
  transport: ApduTransport,
  reserved: boolean,
  channelOptions?: ApduChannelOptions,
): Promise<{ resultCode: number; kept: boolean; result: string }> {
  const r = await ApduChannel.with(transport, channelOptions ?? {}, (ch) => euiccMemoryReset(ch, factoryResetOptions(reserved)));
  const resultCode =
    r.result === 'ok' || r.result === 'nothingToDelete' ? FACTORY_RESULT_OK : r.result === 'catBusy' ? FACTORY_RESULT_CAT_BUSY : FACTORY_RESULT_OTHER;
  return { resultCode, kept: reserved, result: r.result };
}
