/** Codec figures: BER-TLV decode/encode throughput on a 12 KB SAIP profile package, typed decode rates. */
import { buildProfilePackage, decodeProfilePackage } from '../src/asn1/saip.js';
import { decodeTlvs, encodeTlv, type Tlv } from '../src/asn1/tlv.js';
import { decodeProfileInfoListResponse, encodeProfileInfoListResponse } from '../src/asn1/sgp22/profiles.js';
import { bytesEqual } from '../src/util/hex.js';
import { existsSync, readFileSync } from 'node:fs';
import { emit, megabytesPerSecond, opsPerSecond } from './harness.js';

/** A real TS.48 test profile, when the shared reference folder is present (optional, never required). */
const TS48 = new URL('../../shared/reference/ts48/TS48V2-SAIP2-1-BERTLV-UNIQUE.der', import.meta.url);

/** Re-encode a decoded tree from its parts (tags, children, primitive values): the encoder's full work. */
function encodeTree(t: Tlv): Uint8Array {
  return t.constructed ? encodeTlv(t.tag, t.children.map(encodeTree)) : encodeTlv(t.tag, t.value);
}

export function benchCodec(seconds: number): void {
  const upp = buildProfilePackage({ iccid: '89000123456789012341', padToSize: 12 * 1024 });
  const tree = decodeTlvs(upp);
  const again = tree.map(encodeTree);
  let n = 0;
  for (const a of again) n += a.length;
  if (n !== upp.length || !bytesEqual(Uint8Array.from(again.flatMap((a) => [...a])), upp)) {
    throw new Error('bench setup: re-encoding does not reproduce the package');
  }
  let nodes = 0;
  const count = (t: Tlv): void => {
    nodes++;
    t.children.forEach(count);
  };
  tree.forEach(count);

  emit({
    name: 'tlv.decode',
    value: megabytesPerSecond(upp.length, () => void decodeTlvs(upp), seconds),
    unit: 'MB/s',
    inputBytes: upp.length,
    tlvNodes: nodes,
  });
  emit({
    name: 'tlv.encode',
    value: megabytesPerSecond(upp.length, () => void tree.map(encodeTree), seconds),
    unit: 'MB/s',
    inputBytes: upp.length,
    tlvNodes: nodes,
  });
  emit({
    name: 'saip.decodeProfilePackage',
    value: megabytesPerSecond(upp.length, () => void decodeProfilePackage(upp), seconds),
    unit: 'MB/s',
    inputBytes: upp.length,
  });

  if (existsSync(TS48)) {
    const ts48 = new Uint8Array(readFileSync(TS48));
    const t = decodeTlvs(ts48);
    let tsNodes = 0;
    const c2 = (x: Tlv): void => {
      tsNodes++;
      x.children.forEach(c2);
    };
    t.forEach(c2);
    emit({ name: 'tlv.decode.ts48', value: megabytesPerSecond(ts48.length, () => void decodeTlvs(ts48), seconds), unit: 'MB/s', inputBytes: ts48.length, tlvNodes: tsNodes });
    emit({ name: 'tlv.encode.ts48', value: megabytesPerSecond(ts48.length, () => void t.map(encodeTree), seconds), unit: 'MB/s', inputBytes: ts48.length, tlvNodes: tsNodes });
  }

  const list = encodeProfileInfoListResponse({
    kind: 'profileInfoListOk',
    profileInfoListOk: Array.from({ length: 20 }, (_, i) => ({
      iccid: Uint8Array.of(0x98, 0x94, 0x44, 0x99, 0x99, 0x99, 0x99, 0x09, 0x40 + i, 0xf9),
      isdpAid: Uint8Array.of(0xa0, 0, 0, 0x05, 0x59, 0x10, 0x10, 0xff, 0xff, 0xff, 0xff, 0x89, 0, 0x10, i, 0),
      profileState: i === 0 ? 1 : 0,
      profileNickname: `profile ${i}`,
      serviceProviderName: 'esimkit',
      profileName: `Test profile ${i}`,
      profileClass: 2,
    })),
  });
  emit({
    name: 'sgp22.decodeProfileInfoListResponse.20profiles',
    value: opsPerSecond(() => void decodeProfileInfoListResponse(list), seconds),
    unit: 'ops/s',
    inputBytes: list.length,
  });
}
