/** Crypto figures: BSP throughput (encrypt+MAC, verify+decrypt) and ECDSA sign/verify per second. */
import { randomBytes } from 'node:crypto';
import { BspInstance } from '../src/crypto/bsp.js';
import { CURVES, generateKeyPair, signRaw, verifyRaw } from '../src/crypto/ecdsa.js';
import { emit, megabytesPerSecond, opsPerSecond } from './harness.js';

export function benchCrypto(seconds: number): void {
  const sEnc = new Uint8Array(randomBytes(16));
  const sMac = new Uint8Array(randomBytes(16));
  const mcv = new Uint8Array(randomBytes(16));
  const plain = new Uint8Array(randomBytes(12 * 1024));

  const encMBs = megabytesPerSecond(plain.length, () => {
    new BspInstance(sEnc, sMac, mcv).encryptAndMac(0x86, plain);
  }, seconds);
  emit({ name: 'bsp.encrypt_mac', value: encMBs, unit: 'MB/s', floor: 40, payloadBytes: plain.length });

  const segments = new BspInstance(sEnc, sMac, mcv).encryptAndMac(0x86, plain);
  const decMBs = megabytesPerSecond(plain.length, () => {
    const b = new BspInstance(sEnc, sMac, mcv);
    for (const s of segments) b.verifyAndDecrypt(s);
  }, seconds);
  emit({ name: 'bsp.verify_decrypt', value: decMBs, unit: 'MB/s', floor: 40, payloadBytes: plain.length, segments: segments.length });

  const msg = new Uint8Array(randomBytes(200));
  for (const curve of CURVES) {
    const { privateKey, publicKey } = generateKeyPair(curve);
    const sig = signRaw(privateKey, msg);
    emit({ name: `ecdsa.sign.${curve}`, value: opsPerSecond(() => void signRaw(privateKey, msg), seconds), unit: 'ops/s' });
    emit({ name: `ecdsa.verify.${curve}`, value: opsPerSecond(() => void verifyRaw(publicKey, msg, sig), seconds), unit: 'ops/s' });
  }
}
