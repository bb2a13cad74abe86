import { X509Certificate, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { describeWithReference, readRef, readRefJson } from '../../../test/support/reference.js';
import { traceBlob } from '../../../test/support/trace.js';
import { assertDecodersTotal } from '../../../test/support/decoder-fuzz.js';
import { concatBytes, fromBase64, fromHex, toHex } from '../../util/hex.js';
import { Asn1Error, decodeTlv, encodeTlv } from '../tlv.js';
import { decodePrepareDownloadResponse } from './authentication.js';
import {
  BppTag,
  FUZZ_DECODERS_BPP,
  RemoteOpIdValue,
  decodeBoundProfilePackage,
  decodeConfigureISDPRequest,
  decodeInitialiseSecureChannelRequest,
  decodeReplaceSessionKeysRequest,
  encodeBoundProfilePackage,
  encodeConfigureISDPRequest,
  encodeInitialiseSecureChannelRequest,
  encodeReplaceSessionKeysRequest,
  joinBppSegments,
  segmentBpp,
  smdpSignInput,
  type BoundProfilePackage,
  type InitialiseSecureChannelRequest,
} from './bpp.js';
import { codeOf } from '../../../test/support/asn1-assert.js';

const h = fromHex;


const isc: InitialiseSecureChannelRequest = {
  remoteOpId: RemoteOpIdValue.installBoundProfilePackage,
  transactionId: h('00112233445566778899aabbccddeeff'),
  controlRefTemplate: { keyType: h('88'), keyLen: h('10'), hostId: h('6d61686c7a656974') },
  smdpOtpk: new Uint8Array(65).fill(4),
  smdpSign: new Uint8Array(64).fill(9),
};

const seg = (tag: number, n: number, fill: number): Uint8Array => encodeTlv(tag, new Uint8Array(n).fill(fill));

const bpp: BoundProfilePackage = {
  initialiseSecureChannelRequest: isc,
  firstSequenceOf87: [seg(0x87, 24, 1)],
  sequenceOf88: [seg(0x88, 200, 2), seg(0x88, 40, 3)],
  secondSequenceOf87: [seg(0x87, 56, 4)],
  sequenceOf86: [seg(0x86, 1020 - 4, 5), seg(0x86, 300, 6), seg(0x86, 8, 7)],
};

describe('bpp: synthetic round trips', () => {
  it('InitialiseSecureChannelRequest uses the RSPDefinitions tags', () => {
    const enc = encodeInitialiseSecureChannelRequest(isc);
    const t = decodeTlv(enc);
    expect(t.tag).toBe(0xbf23);
    expect(t.children.map((c) => c.tag.toString(16))).toEqual(['82', '80', 'a6', '5f49', '5f37']);
    expect(toHex(t.children[2]!.raw)).toBe('a61080018881011084086d61686c7a656974');
    const dec = decodeInitialiseSecureChannelRequest(enc);
    expect(dec).toEqual({ ...isc, raw: enc });
    // sign input of a fresh object equals the one from raw
    const { raw: _r, ...fields } = dec;
    expect(toHex(smdpSignInput(fields, h('04aa')))).toBe(toHex(smdpSignInput(dec, h('04aa'))));
    expect(toHex(smdpSignInput(dec, h('04aa')))).toBe(toHex(concatBytes(...t.children.slice(0, 4).map((c) => c.raw), h('5f490204aa'))));
  });

  it('InitialiseSecureChannelRequest faults', () => {
    const enc = encodeInitialiseSecureChannelRequest(isc);
    const hex = toHex(enc);
    // hostId longer than 16
    expect(() => encodeInitialiseSecureChannelRequest({ ...isc, controlRefTemplate: { ...isc.controlRefTemplate, hostId: new Uint8Array(17) } })).toThrow(RangeError);
    // missing smdpSign
    const t = decodeTlv(enc);
    const noSign = encodeTlv(0xbf23, t.children.slice(0, 4).map((c) => c.raw));
    expect(codeOf(() => decodeInitialiseSecureChannelRequest(noSign))).toEqual({ code: 'missing-element', offset: noSign.length });
    // truncated input
    expect(codeOf(() => decodeInitialiseSecureChannelRequest(h(hex.slice(0, 40))))).toEqual({ code: 'length-past-end', offset: 0 });
    // smdpSign before smdpOtpk
    const swapped = encodeTlv(0xbf23, [t.children[0]!.raw, t.children[1]!.raw, t.children[2]!.raw, t.children[4]!.raw, t.children[3]!.raw]);
    expect(codeOf(() => decodeInitialiseSecureChannelRequest(swapped))).toEqual({ code: 'unexpected-tag', offset: t.children[3]!.offset });
  });

  it('BoundProfilePackage round trip with and without A2', () => {
    const enc = encodeBoundProfilePackage(bpp);
    const dec = decodeBoundProfilePackage(enc);
    expect(toHex(dec.raw!)).toBe(toHex(enc));
    const strip = ({ raw: _r, ...rest }: BoundProfilePackage): Omit<BoundProfilePackage, 'raw'> => ({
      ...rest,
      initialiseSecureChannelRequest: { ...rest.initialiseSecureChannelRequest, raw: undefined } as InitialiseSecureChannelRequest,
    });
    expect(strip(dec)).toEqual(strip({ ...bpp, initialiseSecureChannelRequest: { ...isc } }));
    const { secondSequenceOf87: _a2, ...noA2 } = bpp;
    const dec2 = decodeBoundProfilePackage(encodeBoundProfilePackage(noA2));
    expect(Object.keys(dec2)).not.toContain('secondSequenceOf87');
    expect(dec2.sequenceOf86).toEqual(bpp.sequenceOf86);
    // a segment of the wrong tag is rejected on both sides
    expect(() => encodeBoundProfilePackage({ ...bpp, sequenceOf88: [seg(0x87, 4, 0)] })).toThrow(RangeError);
    const t = decodeTlv(enc);
    const a1 = t.children[2]!;
    const bad = Uint8Array.from(enc);
    bad[a1.children[0]!.offset] = 0x87;
    expect(codeOf(() => decodeBoundProfilePackage(bad))).toEqual({ code: 'unexpected-tag', offset: a1.children[0]!.offset });
    // A3 missing
    const noA3 = encodeTlv(0xbf36, t.children.slice(0, 4).map((c) => c.raw));
    expect(codeOf(() => decodeBoundProfilePackage(noA3))).toMatchObject({ code: 'missing-element' });
  });

  it('segmentBpp follows SGP22-NOTES §3.2 and joinBppSegments inverts it', () => {
    const enc = encodeBoundProfilePackage(bpp);
    const segs = segmentBpp(enc);
    const t = decodeTlv(enc);
    const [iscT, a0, a1, a2, a3] = t.children;
    expect(segs.length).toBe(1 + 1 + 1 + 2 + 1 + 1 + 3);
    expect(toHex(segs[0]!)).toBe(toHex(enc.subarray(0, iscT!.offset + iscT!.raw.length)));
    expect(toHex(segs[0]!.subarray(0, 4))).toBe('bf36' + toHex(enc.subarray(2, 4)));
    expect(segs[1]).toEqual(a0!.raw);
    expect(toHex(segs[2]!)).toBe('a181f5'); // A1 header alone: 203 + 42 = 245 content bytes
    expect(segs[2]).toEqual(a1!.raw.subarray(0, a1!.valueOffset - a1!.offset));
    expect(segs[3]).toEqual(bpp.sequenceOf88[0]);
    expect(segs[4]).toEqual(bpp.sequenceOf88[1]);
    expect(segs[5]).toEqual(a2!.raw);
    expect(segs[6]).toEqual(a3!.raw.subarray(0, a3!.valueOffset - a3!.offset));
    expect(segs.slice(7)).toEqual(bpp.sequenceOf86);
    expect(joinBppSegments(segs)).toEqual(enc);
    expect(() => joinBppSegments(segs.slice(0, -1))).toThrow(Asn1Error);
    expect(() => segmentBpp(enc.subarray(0, enc.length - 1))).toThrow(Asn1Error);
  });

  it('ConfigureISDPRequest and ReplaceSessionKeysRequest', () => {
    expect(toHex(encodeConfigureISDPRequest({}))).toBe('bf2400');
    const withDp = { dpProprietaryData: { dpOid: '1.3.6.1.4.1.31746.1' } };
    const enc = encodeConfigureISDPRequest(withDp);
    expect(toHex(enc).startsWith('bf24')).toBe(true);
    expect(decodeTlv(enc).children[0]!.tag).toBe(BppTag.DpProprietaryData);
    expect(decodeConfigureISDPRequest(enc)).toEqual(withDp);
    const more = { dpProprietaryData: { dpOid: '2.999.1', additionalData: [h('8001ff'), h('c10100')] } };
    expect(decodeConfigureISDPRequest(encodeConfigureISDPRequest(more))).toEqual(more);
    expect(() => encodeConfigureISDPRequest({ dpProprietaryData: { dpOid: '2.999', additionalData: [new Uint8Array(200)] } })).toThrow(RangeError);
    expect(codeOf(() => decodeConfigureISDPRequest(h('bf2404b8020500')))).toEqual({ code: 'missing-element', offset: 5 });
    const rsk = { initialMacChainingValue: new Uint8Array(16).fill(0x22), ppkEnc: new Uint8Array(16), ppkCmac: new Uint8Array(16).fill(0x11) };
    expect(decodeReplaceSessionKeysRequest(encodeReplaceSessionKeysRequest(rsk))).toEqual(rsk);
    expect(codeOf(() => decodeReplaceSessionKeysRequest(h('bf2603800100')))).toMatchObject({ code: 'missing-element' });
  });
});

// ------------------------------------------------------------------------------------------ reference

interface BppCase {
  id: string;
  bppBase64: string;
  expected: { configureIsdpPlain: string; replaceSessionKeysPlain?: string };
  derived: {
    bppLength: number;
    topLevelTags: string[];
    initialiseSecureChannelRequest: {
      remoteOpId: string;
      transactionId: string;
      controlRefTemplate: { keyType: string; keyLen: string; hostId: string };
      smdpOtpk: string;
      smdpSign: string;
    };
    segmentCounts: Record<string, number>;
  };
}

interface SigCase {
  id: string;
  signerCertificate: string;
  message: string;
  signatureRS: string;
}

describeWithReference('bpp: recorded BPPs', () => {
  const cases = (): BppCase[] => readRefJson<{ cases: BppCase[] }>('vectors/bpp-decode.json').cases;

  it('the BF36 of the trace decodes and re-encodes byte-identically', () => {
    const bytes = traceBlob('boundProfilePackage');
    expect(bytes.length).toBe(13086); // reference README trace summary
    const x = decodeBoundProfilePackage(bytes);
    expect(x.sequenceOf86.length).toBe(13);
    expect(x.initialiseSecureChannelRequest.controlRefTemplate.hostId).toEqual(new TextEncoder().encode('mahlzeit'));
    expect(toHex(encodeBoundProfilePackage(x))).toBe(toHex(bytes));
    expect(toHex(x.raw!)).toBe(toHex(bytes));
  });

  for (const id of ['pysim-TestBSPdecode', 'osmo-smdpp-recorded-bpp']) {
    it(`bpp-decode.json ${id}: fields, byte-identical re-encoding, segmentation`, () => {
      const c = cases().find((k) => k.id === id)!;
      const bytes = fromBase64(c.bppBase64);
      expect(bytes.length).toBe(c.derived.bppLength);
      const x = decodeBoundProfilePackage(bytes);
      const d = c.derived.initialiseSecureChannelRequest;
      const i = x.initialiseSecureChannelRequest;
      expect(i.remoteOpId).toBe(parseInt(d.remoteOpId, 16));
      expect(toHex(i.transactionId)).toBe(d.transactionId);
      expect(toHex(i.controlRefTemplate.keyType)).toBe(d.controlRefTemplate.keyType);
      expect(toHex(i.controlRefTemplate.keyLen)).toBe(d.controlRefTemplate.keyLen);
      expect(toHex(i.controlRefTemplate.hostId)).toBe(d.controlRefTemplate.hostId);
      expect(toHex(i.smdpOtpk)).toBe(d.smdpOtpk);
      expect(toHex(i.smdpSign)).toBe(d.smdpSign);
      expect(x.firstSequenceOf87.length).toBe(c.derived.segmentCounts.firstSequenceOf87);
      expect(x.sequenceOf88.length).toBe(c.derived.segmentCounts.sequenceOf88);
      expect(x.secondSequenceOf87?.length).toBe(c.derived.segmentCounts.secondSequenceOf87);
      expect(x.sequenceOf86.length).toBe(c.derived.segmentCounts.sequenceOf86);
      expect(toHex(encodeBoundProfilePackage(x))).toBe(toHex(bytes));
      expect(toHex(encodeInitialiseSecureChannelRequest(i))).toBe(toHex(i.raw!));

      const segs = segmentBpp(bytes);
      const n88 = x.sequenceOf88.length;
      const n86 = x.sequenceOf86.length;
      expect(segs.length).toBe(2 + 1 + n88 + (x.secondSequenceOf87 ? 1 : 0) + 1 + n86);
      expect(toHex(segs[0]!)).toBe(toHex(concatBytes(bytes.subarray(0, 5), i.raw!)));
      expect(toHex(segs[segs.length - 1]!)).toBe(toHex(x.sequenceOf86[n86 - 1]!));
      expect(toHex(joinBppSegments(segs))).toBe(toHex(bytes));
      // plaintext inner messages as recorded
      expect(decodeConfigureISDPRequest(h(c.expected.configureIsdpPlain))).toEqual({});
      expect(toHex(encodeConfigureISDPRequest({}))).toBe(c.expected.configureIsdpPlain);
      if (c.expected.replaceSessionKeysPlain) {
        const rsk = decodeReplaceSessionKeysRequest(h(c.expected.replaceSessionKeysPlain));
        expect(toHex(rsk.initialMacChainingValue)).toBe('22'.repeat(16));
        expect(toHex(rsk.ppkEnc)).toBe('00'.repeat(16));
        expect(toHex(rsk.ppkCmac)).toBe('11'.repeat(16));
        expect(toHex(encodeReplaceSessionKeysRequest(rsk))).toBe(c.expected.replaceSessionKeysPlain);
      }
    });
  }

  it('smdpSign validates over smdpSignInput(BF23 as received, euiccOtpk of the prepareDownloadResponse)', () => {
    const sc = readRefJson<{ cases: SigCase[] }>('vectors/es9p-signatures.json').cases.find(
      (k) => k.id === 'initialiseSecureChannel.smdpSign',
    )!;
    const x = decodeBoundProfilePackage(traceBlob('boundProfilePackage'));
    const pdr = decodePrepareDownloadResponse(traceBlob('prepareDownloadResponse'));
    if (pdr.kind !== 'downloadResponseOk') throw new Error('expected ok');
    const msg = smdpSignInput(x.initialiseSecureChannelRequest, pdr.euiccSigned2.euiccOtpk);
    expect(toHex(msg)).toBe(sc.message);
    expect(toHex(x.initialiseSecureChannelRequest.smdpSign)).toBe(sc.signatureRS);
    const key = new X509Certificate(readRef(sc.signerCertificate)).publicKey;
    const sig = x.initialiseSecureChannelRequest.smdpSign;
    expect(verify('sha256', msg, { key, dsaEncoding: 'ieee-p1363' }, sig)).toBe(true);
    const wrongOtpk = Uint8Array.from(pdr.euiccSigned2.euiccOtpk);
    wrongOtpk[1]! ^= 1;
    expect(verify('sha256', smdpSignInput(x.initialiseSecureChannelRequest, wrongOtpk), { key, dsaEncoding: 'ieee-p1363' }, sig)).toBe(false);
  });
});

describeWithReference('bpp: fuzz', () => {
  it('every decoder returns or throws Asn1Error', () => {
    const bytes = traceBlob('boundProfilePackage');
    const x = decodeBoundProfilePackage(bytes);
    // a reduced BPP of the trace (two 86 segments) keeps mutation runs cheap
    const small = encodeBoundProfilePackage({ ...x, sequenceOf86: x.sequenceOf86.slice(-2) });
    const samples = [
      small,
      x.initialiseSecureChannelRequest.raw!,
      encodeBoundProfilePackage(bpp),
      h('bf2400'),
      encodeConfigureISDPRequest({ dpProprietaryData: { dpOid: '2.999.1', additionalData: [h('8001ff')] } }),
      encodeReplaceSessionKeysRequest({ initialMacChainingValue: new Uint8Array(16), ppkEnc: new Uint8Array(16), ppkCmac: new Uint8Array(16) }),
    ];
    assertDecodersTotal(FUZZ_DECODERS_BPP, samples, 5000);
  });
});
