/**
 * Extraction of the ES9+ messages recorded in traces/es9p-download-osmo-smdpp.log (read at test time).
 *
 * The log holds python-style lines from pySim's http_json_api:
 *   `... HTTP REQ <url> - hdr: {...} '{json}'`   (request body)
 *   `... HTTP RSP: b'{json}'`                    (response body)
 * Every JSON body is parsed; binary fields are standard base64 of complete DER TLVs.
 */
import { fromBase64 } from '../../src/util/hex.js';
import { readRefText } from './reference.js';

export const TRACE_FILE = 'traces/es9p-download-osmo-smdpp.log';

export interface TraceMessage {
  /** 'request' (LPA -> SM-DP+) or 'response'. */
  readonly direction: 'request' | 'response';
  /** ES9+ function name (initiateAuthentication, authenticateClient, ...). */
  readonly fn: string;
  /** 1-based line number in the log. */
  readonly line: number;
  /** The parsed JSON body. */
  readonly body: Record<string, unknown>;
}

let cache: TraceMessage[] | undefined;

/** All JSON request/response bodies of the recorded download, in order. */
export function traceMessages(): TraceMessage[] {
  if (cache) return cache;
  const lines = readRefText(TRACE_FILE).split('\n');
  const out: TraceMessage[] = [];
  let lastFn = '';
  lines.forEach((text, i) => {
    const req = /HTTP REQ \S*\/([A-Za-z0-9]+) - hdr: .* '(\{.*\})'\s*$/.exec(text);
    if (req) {
      lastFn = req[1]!;
      out.push({ direction: 'request', fn: lastFn, line: i + 1, body: JSON.parse(req[2]!) as Record<string, unknown> });
      return;
    }
    const rsp = /HTTP RSP: b'(\{.*\})'\s*$/.exec(text);
    if (rsp) {
      out.push({ direction: 'response', fn: lastFn, line: i + 1, body: JSON.parse(rsp[1]!) as Record<string, unknown> });
    }
  });
  cache = out;
  return out;
}

/** The string value of JSON field `field` (first message carrying it, optionally of one function/direction). */
export function traceField(field: string, where?: { fn?: string; direction?: 'request' | 'response' }): string {
  for (const m of traceMessages()) {
    if (where?.fn !== undefined && m.fn !== where.fn) continue;
    if (where?.direction !== undefined && m.direction !== where.direction) continue;
    const v = m.body[field];
    if (typeof v === 'string') return v;
  }
  throw new Error(`trace: no string field ${field} found`);
}

/**
 * The decoded base64 blob of JSON field `field`, e.g. `traceBlob('euiccInfo1')`, `traceBlob('serverSigned1')`,
 * `traceBlob('authenticateServerResponse')`, `traceBlob('profileMetadata')`, `traceBlob('smdpSigned2')`,
 * `traceBlob('prepareDownloadResponse')`, `traceBlob('boundProfilePackage')`.
 */
export function traceBlob(field: string, where?: { fn?: string; direction?: 'request' | 'response' }): Uint8Array {
  return fromBase64(traceField(field, where));
}
