import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { describeWithReference, readRef, refPath } from '../../test/support/reference.js';
import { decodeIccid } from '../util/bcd.js';
import { fromHex, toHex } from '../util/hex.js';
import { Asn1Error, decodeTlvs, encodeTlv } from './tlv.js';
import {
  buildProfilePackage,
  decodeFcp,
  decodeProfileHeader,
  decodeProfilePackage,
  decodeTemplateElement,
  encodeImsi,
  iccidFromPackage,
  peTag,
  SaipError,
  templateFieldNames,
  validateTemplateElement,
  type ProfileElement,
  type TemplateElement,
} from './saip.js';

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected an exception');
}

/**
 * Facts from /work/shared/reference/README.md, section "TS.48 profiles (ts48/)": file, size, SAIP header
 * version, ICCID and the PE-header iccid bytes; all have profileType "GSMA Generic eUICC Test Profile".
 */
const TS48 = [
  ['TS48V2-SAIP2-1-BERTLV-UNIQUE.der', 12257, 2, 1, '8949449999999990049', '8949449999999990049f'],
  ['TS48V2-SAIP2-3-NOBERTLV-UNIQUE.der', 12251, 2, 3, '8949449999999990015', '8949449999999990015f'],
  ['TS48V4-SAIP2-3-BERTLV-UNIQUE.der', 12180, 2, 3, '8949449999999990122', '8949449999999990122f'],
  ['TS48V5-SAIP2-3-BERTLV-SUCI-UNIQUE.der', 12284, 2, 3, '8949449999999990163', '8949449999999990163f'],
  ['TS48V5-SAIP2-1A-NOBERTLV-UNIQUE.der', 12060, 2, 1, '8949449999999990148', '8949449999999990148f'],
  ['TS48v2_SAIP2.1_BERTLV.der', 12257, 2, 1, '89000123456789012341', '89000123456789012341'],
] as const;
const TS48_PROFILE_TYPE = 'GSMA Generic eUICC Test Profile';

/** Fcp component tags in PEDefinitions order. */
const FCP_ORDER = [0x82, 0x83, 0x84, 0x8a, 0x8b, 0x80, 0xc6, 0x88, 0xa5, 0xc7];

function element(els: readonly ProfileElement[], name: string): ProfileElement {
  const e = els.find((x) => x.name === name);
  if (!e) throw new Error(`no ${name} element`);
  return e;
}

function fcpTags(te: TemplateElement, field: string): number[] {
  return decodeTlvs(fcpRawOf(te, field)).map((t) => t.tag);
}

// raw children of the Fcp of a field, re-read from the element TLV
const fcpRaw = new Map<string, Uint8Array>();
function fcpRawOf(te: TemplateElement, field: string): Uint8Array {
  return fcpRaw.get(`${te.name}/${te.peHeader.identification}/${field}`) ?? new Uint8Array(0);
}
function indexFcps(el: ProfileElement, te: TemplateElement): void {
  const fields = el.tlv.children.slice(2);
  fields.forEach((f, i) => {
    const fcp = f.children.find((c) => c.tag === 0xa1);
    if (fcp) fcpRaw.set(`${te.name}/${te.peHeader.identification}/${te.files[i]!.field}`, fcp.value);
  });
}

function isSubsequence(sub: readonly number[], of: readonly number[]): boolean {
  let j = 0;
  for (const x of sub) {
    while (j < of.length && of[j] !== x) j++;
    if (j === of.length) return false;
    j++;
  }
  return true;
}

describeWithReference('SAIP: TS.48 profile packages (reference/ts48)', () => {
  it('the folder holds exactly the six files of the README table', () => {
    expect(readdirSync(refPath('ts48')).sort()).toEqual(TS48.map((r) => r[0]).sort());
  });

  for (const [file, size, major, minor, iccid, iccidHex] of TS48) {
    it(`${file}: ICCID ${iccid}, SAIP ${major}.${minor}, profileType from the README`, () => {
      const upp = readRef('ts48', file);
      expect(upp.length).toBe(size);
      const p = decodeProfilePackage(upp);
      expect(p.header.majorVersion).toBe(major);
      expect(p.header.minorVersion).toBe(minor);
      expect(p.header.iccid).toBe(iccid);
      expect(toHex(p.header.iccidBytes)).toBe(iccidHex);
      expect(p.header.profileType).toBe(TS48_PROFILE_TYPE);
      expect(iccidFromPackage(upp)).toBe(iccid);
      expect(p.elements[0]!.name).toBe('header');
      expect(p.elements[1]!.name).toBe('mf');
      expect(p.elements[p.elements.length - 1]!.name).toBe('end');
      expect(p.elements.every((e) => e.name !== 'unknown')).toBe(true);
      // element raw slices tile the whole file
      expect(p.elements.reduce((n, e) => n + e.raw.length, 0)).toBe(upp.length);
      // every template-based MF/USIM element is valid against the PEDefinitions field lists
      expect(validateTemplateElement(element(p.elements, 'mf'))).toEqual([]);
      expect(validateTemplateElement(element(p.elements, 'usim'))).toEqual([]);
      expect(p.header.mandatoryServices).toContain('usim');
      expect(p.header.mandatoryGfsteList).toContain('2.23.143.1.2.1');
      // EF.ICCID in the MF holds the nibble-swapped form of the same ICCID
      const mf = decodeTemplateElement(element(p.elements, 'mf'));
      const efIccid = mf.files.find((f) => f.field === 'ef-iccid')!;
      const content = efIccid.items.find((i) => i.kind === 'fillFileContent');
      expect(content && content.kind === 'fillFileContent' && decodeIccid(content.content)).toBe(iccid);
    });
  }

  it('the header of TS48V2-SAIP2-1-BERTLV-UNIQUE decodes field by field', () => {
    const h = decodeProfilePackage(readRef('ts48', 'TS48V2-SAIP2-1-BERTLV-UNIQUE.der')).header;
    // Values read off the DER dump of the file (A5: 81 82 83 91 92; A6: nine OIDs 2.23.143.1.2.x)
    expect(h.mandatoryServices).toEqual(['usim', 'isim', 'csim', 'usim-test-algorithm', 'ber-tlv']);
    expect(h.mandatoryGfsteList).toEqual(['1', '3', '4', '5', '7', '8', '9', '10', '11'].map((x) => `2.23.143.1.2.${x}`));
    expect(h.pol).toBeUndefined();
    expect(h.mandatoryAids).toBeUndefined();
  });

  it('our built MF and USIM have the shape of the TS.48 ones (fields, FIDs, file types, Fcp order)', () => {
    const built = decodeProfilePackage(buildProfilePackage({ iccid: '8949449999999990049' }));
    for (const [file] of TS48) {
      const ref = decodeProfilePackage(readRef('ts48', file));
      for (const name of ['mf', 'usim'] as const) {
        const ourEl = element(built.elements, name);
        const refEl = element(ref.elements, name);
        const ours = decodeTemplateElement(ourEl);
        const theirs = decodeTemplateElement(refEl);
        indexFcps(ourEl, ours);
        indexFcps(refEl, theirs);
        expect(ours.templateId).toBe(theirs.templateId);
        // every field we build is present in the TS.48 element, and in the same order
        expect(isSubsequence(ours.files.map((f) => f.tag), theirs.files.map((f) => f.tag))).toBe(true);
        for (const f of ours.files) {
          const tf = theirs.files.find((x) => x.field === f.field)!;
          expect(f.items[0]!.kind).toBe('fcp');
          expect(tf.items[0]!.kind).toBe('fcp');
          const a = f.items[0]!.kind === 'fcp' ? f.items[0]!.fcp : undefined;
          const b = tf.items[0]!.kind === 'fcp' ? tf.items[0]!.fcp : undefined;
          // same file ID and the same file type (FDB byte) as the TS.48 file in that field
          expect(a?.fileId && toHex(a.fileId), `${name}/${f.field} fid`).toBe(b?.fileId && toHex(b.fileId));
          if (a?.fileDescriptor && b?.fileDescriptor) expect(a.fileDescriptor[0]).toBe(b.fileDescriptor[0]);
          // Fcp components in PEDefinitions order, in both
          expect(isSubsequence(fcpTags(ours, f.field), FCP_ORDER), `${name}/${f.field}`).toBe(true);
          expect(isSubsequence(fcpTags(theirs, f.field), FCP_ORDER), `${name}/${f.field} (TS.48)`).toBe(true);
        }
      }
    }
  });
});

describe('SAIP: built profile packages', () => {
  it('round-trips with the ICCID in the header (plain) and in EF.ICCID (swapped)', () => {
    for (const iccid of ['8949449999999990049', '89000123456789012341', '894944999999999001']) {
      const upp = buildProfilePackage({ iccid, profileType: 'unit test', imsi: '262019876543210' });
      const p = decodeProfilePackage(upp);
      expect(p.header.iccid).toBe(iccid);
      expect(toHex(p.header.iccidBytes)).toBe(iccid.padEnd(20, 'f'));
      expect(p.header.profileType).toBe('unit test');
      expect(iccidFromPackage(upp)).toBe(iccid);
      expect(p.elements.map((e) => e.name)).toEqual([
        'header',
        'mf',
        'pukCodes',
        'pinCodes',
        'usim',
        'pinCodes',
        'akaParameter',
        'end',
      ]);
      // identification numbers 1..n in order
      expect(p.elements.slice(1).map((e) => (e.name === 'unknown' ? -1 : e.peHeader?.identification))).toEqual([
        1, 2, 3, 4, 5, 6, 7,
      ]);
      const mf = decodeTemplateElement(element(p.elements, 'mf'));
      const ef = mf.files.find((f) => f.field === 'ef-iccid')!.items[1]!;
      expect(ef.kind).toBe('fillFileContent');
      if (ef.kind === 'fillFileContent') {
        expect(toHex(ef.content)).not.toBe(toHex(p.header.iccidBytes));
        expect(decodeIccid(ef.content)).toBe(iccid);
      }
      const usim = decodeTemplateElement(element(p.elements, 'usim'));
      const imsi = usim.files.find((f) => f.field === 'ef-imsi')!.items[1]!;
      expect(imsi.kind === 'fillFileContent' && toHex(imsi.content)).toBe('082926108967452301');
      expect(validateTemplateElement(element(p.elements, 'mf'))).toEqual([]);
      expect(validateTemplateElement(element(p.elements, 'usim'))).toEqual([]);
      // deterministic
      expect(toHex(buildProfilePackage({ iccid, profileType: 'unit test', imsi: '262019876543210' }))).toBe(toHex(upp));
    }
  });

  it('the swapped EF.ICCID example of the README: 8949449999999990049 -> 989444999999990940f9', () => {
    const p = decodeProfilePackage(buildProfilePackage({ iccid: '8949449999999990049' }));
    const ef = decodeTemplateElement(element(p.elements, 'mf')).files.find((f) => f.field === 'ef-iccid')!.items[1]!;
    expect(ef.kind === 'fillFileContent' && toHex(ef.content)).toBe('989444999999990940f9');
  });

  it('EF.IMSI coding matches the TS.48 example (001010123456063 -> 080910101032540636)', () => {
    // value of ef-imsi in TS48V2-SAIP2-1-BERTLV-UNIQUE.der (USIM PE, field A3)
    expect(toHex(encodeImsi('001010123456063'))).toBe('080910101032540636');
    // even digit count: parity nibble 1, F padding in the last high nibble
    expect(toHex(encodeImsi('12345678901234'))).toBe('08113254769810' + '32f4');
  });

  it('pads to exactly 12 KB (benchmark profile) and still decodes', () => {
    for (const size of [12 * 1024, 12257, 2000, 100_000]) {
      const upp = buildProfilePackage({ iccid: '89000123456789012341', padToSize: size });
      expect(upp.length).toBe(size);
      const p = decodeProfilePackage(upp);
      expect(p.elements.map((e) => e.name)).toContain('genericFileManagement');
      expect(p.elements[p.elements.length - 1]!.name).toBe('end');
      expect(p.header.iccid).toBe('89000123456789012341');
    }
    // a target smaller than the bare package gives the bare package
    expect(buildProfilePackage({ iccid: '89000123456789012341', padToSize: 10 })).toEqual(
      buildProfilePackage({ iccid: '89000123456789012341' }),
    );
  });

  it('rejects bad builder input with SaipError', () => {
    expect((thrown(() => buildProfilePackage({ iccid: '12ab' })) as SaipError).code).toBe('bad-iccid');
    expect((thrown(() => buildProfilePackage({ iccid: '89000123456789012341', imsi: '1' })) as SaipError).code).toBe(
      'bad-input',
    );
    expect(thrown(() => buildProfilePackage({ iccid: '89000123456789012341', padToSize: -1 }))).toBeInstanceOf(SaipError);
  });
});

describe('SAIP: decoder faults', () => {
  const good = buildProfilePackage({ iccid: '89000123456789012341' });
  const els = decodeTlvs(good);
  const header = els[0]!.raw;
  const end = els[els.length - 1]!.raw;

  it('semantic faults are SaipError with a code', () => {
    const code = (b: Uint8Array, opts?: { requireEnd?: boolean }): string =>
      (thrown(() => decodeProfilePackage(b, opts)) as SaipError).code;
    expect(code(new Uint8Array(0))).toBe('empty');
    expect(code(good.subarray(header.length))).toBe('no-header'); // starts with the MF
    expect(code(Uint8Array.from([...header, ...header, ...end]))).toBe('duplicate-header');
    expect(code(good.subarray(0, good.length - end.length))).toBe('no-end');
    expect(code(Uint8Array.from([...good, ...els[1]!.raw]))).toBe('after-end');
    // without requireEnd a partial package decodes
    expect(decodeProfilePackage(good.subarray(0, good.length - end.length), { requireEnd: false }).elements).toHaveLength(7);
    expect(thrown(() => iccidFromPackage(good.subarray(header.length)))).toBeInstanceOf(SaipError);
    expect(thrown(() => iccidFromPackage(new Uint8Array(0)))).toBeInstanceOf(SaipError);
  });

  it('codec faults are Asn1Error', () => {
    expect(thrown(() => decodeProfilePackage(good.subarray(0, good.length - 1)))).toBeInstanceOf(Asn1Error);
    // iccid of 9 bytes
    const bad = encodeTlv(0xa0, [fromHex('800102'), fromHex('810103'), fromHex('8309890001234567890123'), fromHex('a500a600')]);
    expect((thrown(() => decodeProfileHeader(bad)) as Asn1Error).code).toBe('bad-value');
    // non-decimal iccid nibble
    const bad2 = encodeTlv(0xa0, [fromHex('800102'), fromHex('810103'), fromHex('830a8a000123456789012341'), fromHex('a500a600')]);
    expect((thrown(() => decodeProfileHeader(bad2)) as Asn1Error).code).toBe('bad-value');
    // missing services list
    const bad3 = encodeTlv(0xa0, [fromHex('800102'), fromHex('810103'), fromHex('830a89000123456789012341')]);
    expect((thrown(() => decodeProfileHeader(bad3)) as Asn1Error).code).toBe('missing-element');
    // services out of order / non-NULL
    const bad4 = encodeTlv(0xa0, [fromHex('800102'), fromHex('810103'), fromHex('830a89000123456789012341'), fromHex('a50484008100'), fromHex('a600')]);
    expect(thrown(() => decodeProfileHeader(bad4))).toBeInstanceOf(Asn1Error);
    const bad5 = encodeTlv(0xa0, [fromHex('800102'), fromHex('810103'), fromHex('830a89000123456789012341'), fromHex('a503810101'), fromHex('a600')]);
    expect(thrown(() => decodeProfileHeader(bad5))).toBeInstanceOf(Asn1Error);
    // an element without its PEHeader
    const noPeHeader = Uint8Array.from([...header, ...encodeTlv(peTag('mf'), fromHex('8100')), ...end]);
    expect((thrown(() => decodeProfilePackage(noPeHeader)) as Asn1Error).code).toBe('unexpected-tag');
  });

  it('a minimal header with optional fields decodes them all', () => {
    const h = decodeProfileHeader(
      encodeTlv(0xa0, [
        fromHex('800103'),
        fromHex('810103'),
        fromHex('830a89000123456789012341'),
        fromHex('8402aabb'),
        fromHex('a506810084009900'),
        fromHex('a600'),
        fromHex('8701ff'),
        fromHex('a80d300b8005a00000000181020102'),
        fromHex('a909800701020304050607'),
      ]),
    );
    expect(h.majorVersion).toBe(3);
    expect(h.profileType).toBeUndefined();
    expect(toHex(h.pol!)).toBe('aabb');
    expect(h.mandatoryServices).toEqual(['usim', 'milenage', 'dns-resolution']);
    expect(h.mandatoryGfsteList).toEqual([]);
    expect(toHex(h.connectivityParameters!)).toBe('ff');
    expect(h.mandatoryAids!.map((a) => [toHex(a.aid), toHex(a.version)])).toEqual([['a000000001', '0102']]);
    expect(toHex(h.iotOptions!.pix)).toBe('01020304050607');
  });

  it('unknown ProfileElement tags are kept as unknown with their raw bytes', () => {
    const odd = encodeTlv(0xbf30, [fromHex('a003810109')]);
    const upp = Uint8Array.from([...header, ...odd, ...end]);
    const p = decodeProfilePackage(upp);
    expect(p.elements[1]).toMatchObject({ name: 'unknown', tag: 0xbf30 });
    expect(toHex(p.elements[1]!.raw)).toBe(toHex(odd));
  });

  it('names match PEDefinitions context tags', () => {
    expect(peTag('header')).toBe(0xa0);
    expect(peTag('end')).toBe(0xaa);
    expect(peTag('mf')).toBe(0xb0);
    expect(peTag('usim')).toBe(0xb3);
    expect(peTag('df-5gprose')).toBe(0xbf1f);
    expect(peTag('opt-iot')).toBe(0xbf21);
    expect(templateFieldNames('mf')).toEqual(['mf-header', 'templateID', 'mf', 'ef-pl', 'ef-iccid', 'ef-dir', 'ef-arr', 'ef-umpc']);
    expect(decodeFcp(decodeTlvs(fromHex('a10783023f008a0105'))[0]!).lcsi).toEqual(Uint8Array.of(5));
  });
});
