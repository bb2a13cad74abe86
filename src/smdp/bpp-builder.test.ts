/**
 * bpp-builder: the BF36 decodes, smdpSign verifies with CERT.DPpb, the eUICC side of ECKA + KDF gives the
 * same session keys, and every segment verifies/decrypts back to ConfigureISDP, StoreMetadata,
 * ReplaceSessionKeys and the UPP, each protected TLV ≤ 1020 bytes.
 */
import { describe, expect, it } from 'vitest';
import {
  decodeBoundProfilePackage,
  decodeConfigureISDPRequest,
  decodeReplaceSessionKeysRequest,
  segmentBpp,
  smdpSignInput,
} from '../asn1/sgp22/bpp.js';
import { decodeStoreMetadataRequest } from '../asn1/sgp22/metadata.js';
import { buildProfilePackage } from '../asn1/saip.js';
import { BspInstance, BSP_MAX_SEGMENT_SIZE } from '../crypto/bsp.js';
import { verifyRaw, type Curve } from '../crypto/ecdsa.js';
import { ecka, generateOneTimeKeyPair } from '../crypto/ecka.js';
import { deriveSessionKeys } from '../crypto/kdf.js';
import { createCi, createDpPb } from '../crypto/pki.js';
import { encodeEid, encodeIccid } from '../util/bcd.js';
import { concatBytes, toHex, utf8 } from '../util/hex.js';
import { buildBoundProfilePackageDetailed, decodeBppSeed, DEFAULT_HOST_ID, encodeBppSeed } from './bpp-builder.js';

const EID = '89049032123451234512345678901235';

describe.each<{ curve: Curve; rsk: boolean | 'fixed' }>([
  { curve: 'P-256', rsk: false },
  { curve: 'P-256', rsk: true },
  { curve: 'brainpoolP256r1', rsk: 'fixed' },
  { curve: 'brainpoolP256r1', rsk: false },
])('buildBoundProfilePackage $curve rsk=$rsk', ({ curve, rsk }) => {
  it('decrypts back to its inputs on the eUICC side', () => {
    const dpPb = createDpPb(createCi({ curve }));
    const euiccOt = generateOneTimeKeyPair(curve);
    const iccid = '8949449999999990049';
    const upp = buildProfilePackage({ iccid, padToSize: 5000 });
    const metadata = { iccid: encodeIccid(iccid), serviceProviderName: 'SP', profileName: 'P', icon: new Uint8Array(1024).fill(7), iconType: 1 };
    const tId = new Uint8Array(16).fill(0x42);
    const fixed = { ppkEnc: new Uint8Array(16).fill(0), ppkCmac: new Uint8Array(16).fill(0x11), initialMcv: new Uint8Array(16).fill(0x22) };
    const inputs = {
      transactionId: tId,
      euiccOtpk: euiccOt.publicPoint,
      dpPb: { privateKey: dpPb.privateKey, cert: dpPb.certDer },
      eid: EID,
      upp,
      metadata,
      configureIsdp: { dpProprietaryData: { dpOid: '2.999.10' } },
      ...(curve === 'brainpoolP256r1' && { hostId: utf8('mahlzeit') }),
    };
    const built = buildBoundProfilePackageDetailed({ ...inputs, replaceSessionKeys: rsk === 'fixed' ? fixed : rsk });
    const b = decodeBoundProfilePackage(built.bpp);
    const isc = b.initialiseSecureChannelRequest;
    expect(isc.remoteOpId).toBe(1);
    expect(toHex(isc.transactionId)).toBe(toHex(tId));
    expect(toHex(isc.controlRefTemplate.keyType)).toBe('88');
    expect(toHex(isc.controlRefTemplate.keyLen)).toBe('10');
    expect(toHex(isc.controlRefTemplate.hostId)).toBe(curve === 'brainpoolP256r1' ? toHex(utf8('mahlzeit')) : toHex(DEFAULT_HOST_ID));
    expect(verifyRaw(dpPb.cert.subjectPublicKeyInfo.key!, smdpSignInput(isc, euiccOt.publicPoint), isc.smdpSign)).toBe(true);

    const keys = deriveSessionKeys(ecka(euiccOt.privateKey, isc.smdpOtpk), isc.controlRefTemplate.hostId, encodeEid(EID));
    expect(toHex(keys.sEnc)).toBe(toHex(built.sessionKeys.sEnc));
    const bsp = BspInstance.fromSessionKeys(keys);
    for (const s of segmentBpp(built.bpp)) if (s[0] === 0x86 || s[0] === 0x87 || s[0] === 0x88) expect(s.length).toBeLessThanOrEqual(BSP_MAX_SEGMENT_SIZE);

    const cfg = decodeConfigureISDPRequest(concatBytes(...b.firstSequenceOf87.map((s) => bsp.verifyAndDecrypt(s, 0x87))));
    expect(cfg.dpProprietaryData?.dpOid).toBe('2.999.10');
    expect(b.sequenceOf88.length).toBeGreaterThan(1); // the icon makes StoreMetadata span two 88s
    const md = decodeStoreMetadataRequest(concatBytes(...b.sequenceOf88.map((s) => bsp.verifyMacOnly(s))));
    expect(toHex(md.iccid)).toBe(toHex(metadata.iccid));
    let profileBsp = bsp;
    if (rsk) {
      const r = decodeReplaceSessionKeysRequest(concatBytes(...b.secondSequenceOf87!.map((s) => bsp.verifyAndDecrypt(s, 0x87))));
      if (rsk === 'fixed') expect(toHex(r.ppkCmac)).toBe('11'.repeat(16));
      profileBsp = BspInstance.replaceSessionKeys({ initialMacChainingValue: r.initialMacChainingValue, ppkEnc: r.ppkEnc, ppkCmac: r.ppkCmac });
    } else {
      expect(b.secondSequenceOf87).toBeUndefined();
    }
    const out = concatBytes(...b.sequenceOf86.map((s) => profileBsp.verifyAndDecrypt(s, 0x86)));
    expect(toHex(out)).toBe(toHex(upp));

    // the seed (kept by the SM-DP+ instead of the package) rebuilds it byte for byte, through its encoding
    const seedBytes = encodeBppSeed(built.seed);
    expect(seedBytes.length).toBeLessThan(200);
    const seed = decodeBppSeed(seedBytes)!;
    expect(seed.ppk !== undefined).toBe(rsk !== false);
    const again = buildBoundProfilePackageDetailed({ ...inputs, replaceSessionKeys: true, seed }); // the seed decides, not replaceSessionKeys
    expect(toHex(again.bpp)).toBe(toHex(built.bpp));
  });
});

describe('BPP seed encoding', () => {
  it('round-trips and refuses bytes that are not a seed', () => {
    const s = { otSk: new Uint8Array(32).fill(1), smdpSign: new Uint8Array(64).fill(2), ppk: { ppkEnc: new Uint8Array(16).fill(3), ppkCmac: new Uint8Array(16).fill(4), initialMcv: new Uint8Array(16).fill(5) } };
    expect(decodeBppSeed(encodeBppSeed(s))).toEqual(s);
    const noPpk = { otSk: s.otSk, smdpSign: s.smdpSign };
    expect(decodeBppSeed(encodeBppSeed(noPpk))).toEqual(noPpk);
    for (const bad of [new Uint8Array(0), Uint8Array.of(5, 1, 2), Uint8Array.of(1, 1, 1, 1, 1, 0xff), Uint8Array.of(1, 1, 1, 1, 3, 1, 2, 3), Uint8Array.of(1, 1, 1, 1, 0, 9)]) {
      expect(decodeBppSeed(bad)).toBeUndefined();
    }
  });
});
