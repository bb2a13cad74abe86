/** Every row of the result-code table (result-codes.ts header, docs/result-codes.md). */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ActivationCodeError } from '../asn1/activation-code.js';
import { EuiccSwError } from '../apdu/channel.js';
import { TransportError } from '../apdu/transport.js';
import { EuiccResponseError, Es10ResultError } from './errors.js';
import { Es9pResponseError } from './es9p.js';
import { RspHttpError } from './http.js';
import {
  Es10DownloadError,
  LpaCheckError,
  LpaError,
  ResultCode,
  mapFailure,
  resultCodeName,
  statusCodeToResultCode,
  type LpaCheck,
  type MappingContext,
} from './result-codes.js';

const ff = (s: string, r: string, fn = 'authenticateClient'): RspHttpError =>
  new RspHttpError('function-failed', 'x', { subjectCode: s, reasonCode: r, executionStatus: 'Failed', path: `/gsma/rsp2/es9plus/${fn}` });

type Row = [string, unknown, number, MappingContext?];

const rows: Row[] = [
  // -2
  ['check confirmation-code-required', new LpaCheckError('confirmation-code-required', 'x'), -2],
  ['check ppr-consent-required', new LpaCheckError('ppr-consent-required', 'x'), -2],
  ['8.2.7/2.2 without a code sent', ff('8.2.7', '2.2', 'getBoundProfilePackage'), -2],
  // 201
  ['GetEID SW', new EuiccSwError('GetEID', 0x6a88), 201],
  ['GetEID malformed', new EuiccResponseError('GetEID', 'x'), 201],
  // 203, 204, 205
  ['check metadata-changed', new LpaCheckError('metadata-changed', 'x'), 203],
  ['activation code', new ActivationCodeError('format', 'x'), 204],
  ['check no-address', new LpaCheckError('no-address', 'x'), 205],
  ['dns malformed address', new RspHttpError('dns', 'x', { code: 'ERSPADDRESS' }), 205],
  ['dns ENOTFOUND', new RspHttpError('dns', 'x', { code: 'ENOTFOUND' }), 205],
  // 206
  ['GetEUICCInfo1 SW', new EuiccSwError('GetEUICCInfo1', 0x6f00), 206],
  ['GetEUICCInfo2 malformed', new EuiccResponseError('GetEUICCInfo2', 'x'), 206],
  ['GetEUICCChallenge malformed', new EuiccResponseError('GetEUICCChallenge', 'x'), 206],
  ['GetRAT malformed', new EuiccResponseError('GetRAT', 'x'), 206],
  ['8.8.3/3.1', ff('8.8.3', '3.1', 'initiateAuthentication'), 206],
  ['8.9.3/3.1', ff('8.9.3', '3.1', 'initiateAuthentication'), 206],
  // 207-209
  ['tls handshake', new RspHttpError('tls', 'x', { tls: 'handshake' }), 207],
  ['tls certificate', new RspHttpError('tls', 'x', { tls: 'certificate' }), 208],
  ['timeout connect', new RspHttpError('timeout', 'x', { phase: 'connect' }), 209],
  // 210
  ['8.1/6.1', ff('8.1', '6.1'), 210],
  ['8.11.1/3.9', ff('8.11.1', '3.9'), 210],
  ['check euicc-challenge', new LpaCheckError('euicc-challenge', 'x'), 210],
  ['AuthenticateServer invalidSignature', new Es10DownloadError('AuthenticateServer', 2), 210],
  ['AuthenticateServer euiccChallengeMismatch', new Es10DownloadError('AuthenticateServer', 6), 210],
  // 211
  ['http 500', new RspHttpError('http-status', 'x', { status: 500 }), 211],
  ['http 404', new RspHttpError('http-status', 'x', { status: 404 }), 211],
  ['json', new RspHttpError('json', 'x'), 211],
  ['es9p handleNotification output', new Es9pResponseError('handleNotification', 'body', 'x'), 211],
  ['es9p cancelSession output', new Es9pResponseError('cancelSession', 'body', 'x'), 211],
  // 212, 213
  ['8.2.7/3.8', ff('8.2.7', '3.8', 'getBoundProfilePackage'), 212],
  ['8.2.7/2.2 with a code sent', ff('8.2.7', '2.2', 'getBoundProfilePackage'), 212, { confirmationCodeSent: true }],
  ['8.2.7/6.4', ff('8.2.7', '6.4', 'getBoundProfilePackage'), 213],
  // 214
  ['8.2.6/3.8 without matchingId', ff('8.2.6', '3.8'), 214, { matchingIdSent: false }],
  ['8.2.5/3.7', ff('8.2.5', '3.7'), 214],
  ['8.8.5/4.10', ff('8.8.5', '4.10'), 214],
  ['check no-profile', new LpaCheckError('no-profile', 'x'), 214],
  // 215
  ['8.10.1/3.9', ff('8.10.1', '3.9'), 215],
  ['check transaction-id', new LpaCheckError('transaction-id', 'x'), 215],
  ['PrepareDownload invalidTransactionId', new Es10DownloadError('PrepareDownload', 5), 215],
  ['PIR invalidTransactionId', new Es10DownloadError('LoadBoundProfilePackage', 3, 1), 215],
  ['CancelSession invalidTransactionId', new Es10DownloadError('CancelSession', 5), 215],
  // 216
  ['8.8.1/3.8', ff('8.8.1', '3.8', 'initiateAuthentication'), 216],
  ['8.9.1/3.8', ff('8.9.1', '3.8', 'initiateAuthentication'), 216],
  ['check event-address', new LpaCheckError('event-address', 'x'), 216],
  // 217
  ['8.2/3.7', ff('8.2', '3.7', 'getBoundProfilePackage'), 217],
  ['es9p getBoundProfilePackage output', new Es9pResponseError('getBoundProfilePackage', 'boundProfilePackage', 'x'), 217],
  ['check bpp-undecodable', new LpaCheckError('bpp-undecodable', 'x'), 217],
  ['PrepareDownload noSessionContext', new Es10DownloadError('PrepareDownload', 4), 217],
  ['PrepareDownload undefinedError', new Es10DownloadError('PrepareDownload', 127), 217],
  // 218
  ['check user-rejected', new LpaCheckError('user-rejected', 'x'), 218],
  ['check cancelled', new LpaCheckError('cancelled', 'x'), 218],
  ['http aborted', new RspHttpError('aborted', 'x'), 218],
  ['AbortError', Object.assign(new Error('x'), { name: 'AbortError' }), 218],
  // 220
  ['connect', new RspHttpError('connect', 'x', { code: 'ECONNREFUSED' }), 220],
  ['dns EAI_AGAIN', new RspHttpError('dns', 'x', { code: 'EAI_AGAIN' }), 220],
  ['http 502', new RspHttpError('http-status', 'x', { status: 502 }), 220],
  ['http 503', new RspHttpError('http-status', 'x', { status: 503 }), 220],
  ['http 504', new RspHttpError('http-status', 'x', { status: 504 }), 220],
  ['8.9/5.1', ff('8.9', '5.1'), 220],
  ['8.9/4.2', ff('8.9', '4.2'), 220],
  // 226
  ['check server-address', new LpaCheckError('server-address', 'x'), 226],
  ['check ac-oid', new LpaCheckError('ac-oid', 'x'), 226],
  ['8.8/3.10', ff('8.8', '3.10', 'cancelSession'), 226],
  // 228
  ['es9p initiateAuthentication output', new Es9pResponseError('initiateAuthentication', 'serverSigned1', 'x'), 228],
  ['AuthenticateServer unsupportedCurve', new Es10DownloadError('AuthenticateServer', 3), 228],
  ['AuthenticateServer noSessionContext', new Es10DownloadError('AuthenticateServer', 4), 228],
  ['AuthenticateServer undefinedError', new Es10DownloadError('AuthenticateServer', 127), 228],
  ['AuthenticateServer malformed', new EuiccResponseError('AuthenticateServer', 'x'), 228],
  // 229
  ['es9p authenticateClient output', new Es9pResponseError('authenticateClient', 'smdpSigned2', 'x'), 229],
  ['PrepareDownload invalidSignature', new Es10DownloadError('PrepareDownload', 2), 229],
  ['PrepareDownload unsupportedCurve', new Es10DownloadError('PrepareDownload', 3), 229],
  ['PrepareDownload malformed', new EuiccResponseError('PrepareDownload', 'x'), 229],
  // 231
  ['8.2.6/3.8 with matchingId', ff('8.2.6', '3.8'), 231],
  ['8.2.6/3.3', ff('8.2.6', '3.3'), 231],
  ['8.2.6/3.10', ff('8.2.6', '3.10'), 231],
  // 233
  ['8.2.5/4.3', ff('8.2.5', '4.3'), 233],
  ['8.2.5/1.2', ff('8.2.5', '1.2'), 233],
  ['8.2.5/3.8', ff('8.2.5', '3.8'), 233],
  ['8.2.5/3.9', ff('8.2.5', '3.9'), 233],
  // 249
  ['8.2/1.2', ff('8.2', '1.2'), 249],
  ['8.8.5/6.4', ff('8.8.5', '6.4'), 249],
  ['other x/3.8', ff('8.9.9', '3.8'), 249],
  ['other 8.x', ff('8.4', '1.1'), 249],
  // 251
  ['8.1.2/6.1', ff('8.1.2', '6.1'), 251],
  ['8.1.2/6.3', ff('8.1.2', '6.3'), 251],
  ['8.1.3/6.1', ff('8.1.3', '6.1'), 251],
  ['8.1.3/6.3', ff('8.1.3', '6.3'), 251],
  ['8.1.4/6.1', ff('8.1.4', '6.1'), 251],
  ['8.8.2/3.1', ff('8.8.2', '3.1', 'initiateAuthentication'), 251],
  ['8.8.4/3.7', ff('8.8.4', '3.7', 'initiateAuthentication'), 251],
  ['8.9.2/3.1', ff('8.9.2', '3.1'), 251],
  ['8.9.4/3.7', ff('8.9.4', '3.7'), 251],
  ['AuthenticateServer invalidCertificate', new Es10DownloadError('AuthenticateServer', 1), 251],
  ['AuthenticateServer invalidOid', new Es10DownloadError('AuthenticateServer', 5), 251],
  ['AuthenticateServer ciPKUnknown', new Es10DownloadError('AuthenticateServer', 7), 251],
  ['PrepareDownload invalidCertificate', new Es10DownloadError('PrepareDownload', 1), 251],
  // 263
  ['8.1/4.8', ff('8.1', '4.8'), 263],
  ['PIR insufficient memory', new Es10DownloadError('LoadBoundProfilePackage', 10, 5), 263],
  ['check no-memory', new LpaCheckError('no-memory', 'x'), 263],
  // 268, 276
  ['check ppr-forbidden', new LpaCheckError('ppr-forbidden', 'x'), 268],
  ['PIR pprNotAllowed', new Es10DownloadError('LoadBoundProfilePackage', 15, 2), 268],
  ['check ppr-not-match', new LpaCheckError('ppr-not-match', 'x'), 276],
  // 284
  ['8.1.1/3.8', ff('8.1.1', '3.8'), 284],
  ['8.1.1/3.10', ff('8.1.1', '3.10'), 284],
  ['8.2.1/3.10', ff('8.2.1', '3.10'), 284],
  ['PIR ICCID exists', new Es10DownloadError('LoadBoundProfilePackage', 9, 2), 284],
  // 287
  ['timeout response', new RspHttpError('timeout', 'x', { phase: 'response' }), 287],
  ['transport timeout', new TransportError('timeout', 'x'), 287],
  ['check deadline', new LpaCheckError('deadline', 'x'), 287],
  // 400
  ['PIR other errorReason', new Es10DownloadError('LoadBoundProfilePackage', 8, 5), 400],
  ['PIR unknown errorReason', new Es10DownloadError('LoadBoundProfilePackage', 127, 5), 400],
  ['CancelSession undefinedError', new Es10DownloadError('CancelSession', 127), 400],
  ['SW of another function', new EuiccSwError('LoadBoundProfilePackage', 0x6a80), 400],
  ['malformed response of another function', new EuiccResponseError('LoadBoundProfilePackage', 'x'), 400],
  ['Es10ResultError', new Es10ResultError('GetProfilesInfo', 'undefinedError', 127), 400],
  ['transport disconnected', new TransportError('disconnected', 'x'), 400],
  ['non-8.x subject', ff('1.2.1', '2.1'), 400],
  ['unknown error', new TypeError('x'), 400],
  ['not an error', 'boom', 400],
];

describe('mapFailure: one ResultCode per cause', () => {
  it.each(rows)('%s → %i', (_name, err, code, ctx) => {
    const m = mapFailure(err, ctx);
    expect(m.resultCode).toBe(code);
    expect(m.reason.length).toBeGreaterThan(0);
    const l = LpaError.from(err, ctx);
    expect(l.resultCode).toBe(code);
    expect(l.cause).toBe(err);
    expect(LpaError.from(l)).toBe(l);
  });

  it('every LpaCheck has a row; codes are OH ResultCode values', () => {
    const checks: LpaCheck[] = [
      'no-address', 'transaction-id', 'euicc-challenge', 'server-address', 'ac-oid', 'confirmation-code-required', 'ppr-consent-required',
      'ppr-forbidden', 'ppr-not-match', 'user-rejected', 'cancelled', 'deadline', 'metadata-changed', 'no-memory', 'no-profile',
      'event-address', 'bpp-undecodable',
    ];
    for (const c of checks) expect(rows.some(([n]) => n === `check ${c}`)).toBe(true);
    const values = new Set<number>(Object.values(ResultCode));
    for (const [, , code] of rows) expect(values.has(code)).toBe(true);
    expect(resultCodeName(213)).toBe('RESULT_EXCEEDED_CONFIRMATION_CODE_TRY_LIMIT');
    expect(statusCodeToResultCode(undefined, undefined)).toBe(400);
  });

  it('every ResultCode of the header table is in docs/result-codes.md and the file header', () => {
    const doc = readFileSync(new URL('../../docs/result-codes.md', import.meta.url), 'utf8');
    const src = readFileSync(new URL('./result-codes.ts', import.meta.url), 'utf8');
    for (const code of new Set(rows.map((r) => r[2]))) {
      const name = resultCodeName(code as ResultCode).replace(/^RESULT_/, '');
      expect(doc).toContain(`| ${code} ${name} |`);
      expect(src).toContain(` * | ${code} ${name} |`);
    }
  });
});
