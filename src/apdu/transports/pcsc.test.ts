import { describe, expect, it } from 'vitest';
import { TransportError } from '../transport.js';
import { atrExtendedLength, mapPcscError, pcscCodeOf, PcscError, SCARD, selectReader } from './pcsc.js';
import { SoftEuicc } from '../../euicc/card.js';
import { createIdentity } from '../../euicc/identity.js';
import { fromHex } from '../../util/hex.js';

describe('atrExtendedLength', () => {
  it('reads the card capabilities of the software eUICC ATR (both settings)', () => {
    const identity = createIdentity({}).identity;
    const ext = SoftEuicc.create(':memory:', { identity, config: { extendedLength: true } });
    const short = SoftEuicc.create(':memory:', { identity, config: { extendedLength: false } });
    try {
      expect(atrExtendedLength(ext.atr())).toBe(true);
      expect(atrExtendedLength(short.atr())).toBe(false);
    } finally {
      ext.close();
      short.close();
    }
  });

  it('category 00 historical bytes (status at the end) and capabilities of fewer than 3 bytes', () => {
    // 3B 88 80 01 | 00 73 C8 40 13 | 00 90 00 ... : T0 88 (TD1, 8 historical), TD1 80 (TD2), TD2 01
    const atr = fromHex('3B8880010073C84013009000');
    expect(atrExtendedLength(atr)).toBe(false); // card capabilities 73 C8 40 13: third byte 13, no 0x40
    expect(atrExtendedLength(fromHex('3B8880010073C8407F009000'))).toBe(true);
    expect(atrExtendedLength(fromHex('3B85800180720000' + '00'))).toBe(false); // tag 7 with 2 bytes
  });

  it('undefined when the ATR does not say', () => {
    expect(atrExtendedLength(fromHex('3B00'))).toBeUndefined(); // no historical bytes
    expect(atrExtendedLength(fromHex('3B02' + '1234'))).toBeUndefined(); // proprietary category
    expect(atrExtendedLength(fromHex('3B83800131'))).toBeUndefined(); // truncated compact-TLV
    expect(atrExtendedLength(fromHex('3B8380014F0C'))).toBeUndefined(); // truncated history
    expect(atrExtendedLength(fromHex('3B'))).toBeUndefined();
    expect(atrExtendedLength(fromHex('3B81800180'))).toBeUndefined(); // category only
  });
});

describe('PC/SC error mapping', () => {
  const err = (code: number, what = 'SCardTransmit'): Error => new Error(`${what} error: something.(0x${code.toString(16)})`);

  it('extracts the return code from a binding message', () => {
    expect(pcscCodeOf(new Error('SCardTransmit error: Card was removed.(0x80100069)'))).toBe(0x80100069);
    expect(pcscCodeOf('SCardConnect error: Sharing violation.(0x8010000b)')).toBe(0x8010000b);
    expect(pcscCodeOf(new Error('no code'))).toBeUndefined();
    expect(pcscCodeOf(42)).toBeUndefined();
  });

  it.each([
    [SCARD.W_REMOVED_CARD, 'disconnected', 'removed'],
    [SCARD.E_NO_SMARTCARD, 'disconnected', 'removed'],
    [SCARD.W_UNPOWERED_CARD, 'disconnected', 'removed'],
    [SCARD.W_UNRESPONSIVE_CARD, 'disconnected', 'removed'],
    [SCARD.W_RESET_CARD, 'disconnected', 'reset'],
    [SCARD.E_READER_UNAVAILABLE, 'disconnected', 'reader-lost'],
    [SCARD.E_UNKNOWN_READER, 'disconnected', 'reader-lost'],
    [SCARD.E_INVALID_HANDLE, 'disconnected', 'reader-lost'],
    [SCARD.E_NO_SERVICE, 'disconnected', 'no-service'],
    [SCARD.E_SERVICE_STOPPED, 'disconnected', 'no-service'],
    [SCARD.F_COMM_ERROR, 'disconnected', 'no-service'],
    [SCARD.E_NO_READERS_AVAILABLE, 'disconnected', 'no-readers'],
    [SCARD.E_SHARING_VIOLATION, 'busy', 'sharing-violation'],
    [SCARD.E_TIMEOUT, 'timeout', 'failure'],
    [SCARD.E_PROTO_MISMATCH, 'protocol', 'failure'],
    [0x80100016, 'protocol', 'failure'], // SCARD_E_NOT_TRANSACTED alone is not a removal
  ] as const)('%#: code → %s / %s', (code, transportCode, reason) => {
    const e = mapPcscError('SCardTransmit', err(code), 'Reader 00 00');
    expect(e).toBeInstanceOf(PcscError);
    expect(e).toBeInstanceOf(TransportError);
    expect(e.code).toBe(transportCode);
    expect(e.reason).toBe(reason);
    expect(e.pcscCode).toBe(code);
    expect(e.message).toContain('SCardTransmit');
    expect(e.message).toContain('"Reader 00 00"');
    expect(e.cause).toBeInstanceOf(Error);
  });

  it('an error without a code is a protocol failure', () => {
    const e = mapPcscError('SCardConnect', new Error('weird'));
    expect(e.code).toBe('protocol');
    expect(e.reason).toBe('failure');
    expect(e.pcscCode).toBeUndefined();
  });
});

describe('selectReader', () => {
  const names = ['ACS ACR39U ICC Reader 00 00', 'Identiv uTrust 3700 F 01 00', 'esimkit vpcd 00 00'];
  const cardIn = (n: string): boolean => n.startsWith('Identiv');

  it('by index', () => {
    expect(selectReader(names, 0, cardIn)).toBe(names[0]);
    expect(selectReader(names, 2, cardIn)).toBe(names[2]);
    expect(selectReader(names, 3, cardIn)).toBeUndefined();
    expect(selectReader(names, -1, cardIn)).toBeUndefined();
    expect(selectReader(names, 1.5, cardIn)).toBeUndefined();
  });

  it('by exact name, then case-insensitive substring (first match)', () => {
    expect(selectReader(names, 'esimkit vpcd 00 00', cardIn)).toBe(names[2]);
    expect(selectReader(names, 'utrust', cardIn)).toBe(names[1]);
    expect(selectReader(names, '00 00', cardIn)).toBe(names[0]);
    expect(selectReader(names, 'gemalto', cardIn)).toBeUndefined();
  });

  it('without a selector: the first reader with a card, else the first', () => {
    expect(selectReader(names, undefined, cardIn)).toBe(names[1]);
    expect(selectReader(names, undefined, () => false)).toBe(names[0]);
    expect(selectReader([], undefined, () => false)).toBeUndefined();
  });
});
