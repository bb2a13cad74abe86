/** Typed errors of the SGP.22 crypto layer (ECDSA, ECKA, KDF, CMAC, key import/export). */

export type CryptoErrorCode =
  | 'unsupported-curve' // a key or name on a curve other than P-256 / brainpoolP256r1
  | 'bad-key' // a key that cannot be used (wrong type, private where public expected, scalar out of range)
  | 'bad-point' // an EC point that is not 04||X||Y of the right size or not on the curve
  | 'bad-signature-encoding' // malformed DER ECDSA-Sig-Value or raw r||s of the wrong size / range
  | 'bad-pem' // PEM text without a usable private-key block, or an undecodable key
  | 'bad-length' // an argument of the wrong length (EID, hostId, CMAC key, KDF output length)
  | 'io'; // a file could not be written or read

export class CryptoError extends Error {
  override readonly name = 'CryptoError';
  constructor(
    readonly code: CryptoErrorCode,
    message: string,
  ) {
    super(message);
  }
}
