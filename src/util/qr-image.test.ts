import { describe, expect, it } from 'vitest';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import QRCode from 'qrcode';
import fc from 'fast-check';
import { decodeQrImage, imageFormatOf, QrImageError } from './qr-image.js';

const AC = 'LPA:1$smdp.example.com:8443$04386-AGYFT-A74Y8-3F815$1.3.6.1.4.1.31746$1';

async function pngOf(text: string, opts: QRCode.QRCodeToBufferOptions = {}): Promise<Uint8Array> {
  return new Uint8Array(await QRCode.toBuffer(text, { type: 'png', errorCorrectionLevel: 'M', margin: 4, scale: 6, ...opts }));
}

function pngToJpeg(png: Uint8Array, quality = 90): Uint8Array {
  const img = PNG.sync.read(Buffer.from(png));
  return new Uint8Array(jpeg.encode({ data: img.data, width: img.width, height: img.height }, quality).data);
}

function errorOf(f: () => unknown): QrImageError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(QrImageError);
    return e as QrImageError;
  }
  throw new Error('expected a QrImageError');
}

describe('decodeQrImage', () => {
  it('reads an activation code back from a PNG written by qrcode', async () => {
    const png = await pngOf(AC);
    expect(imageFormatOf(png)).toBe('png');
    expect(decodeQrImage(png)).toBe(AC);
  });

  it('reads it from a JPEG and from an inverted (light on dark) PNG', async () => {
    const png = await pngOf(AC);
    const jpg = pngToJpeg(png);
    expect(imageFormatOf(jpg)).toBe('jpeg');
    expect(decodeQrImage(jpg)).toBe(AC);
    const inverted = await pngOf(AC, { color: { dark: '#ffffffff', light: '#000000ff' } });
    expect(decodeQrImage(inverted)).toBe(AC);
  });

  it('reads low and high error-correction levels and small scales', async () => {
    for (const errorCorrectionLevel of ['L', 'H'] as const) {
      expect(decodeQrImage(await pngOf(AC, { errorCorrectionLevel, scale: 3 }))).toBe(AC);
    }
  });

  it('gives a typed error for non-images, broken images and images without a QR code', async () => {
    expect(errorOf(() => decodeQrImage(new TextEncoder().encode('LPA:1$a$b'))).code).toBe('unsupported-format');
    expect(errorOf(() => decodeQrImage(new Uint8Array(0))).code).toBe('unsupported-format');
    const png = await pngOf(AC);
    expect(errorOf(() => decodeQrImage(png.subarray(0, 60))).code).toBe('bad-image');
    const blank = new PNG({ width: 64, height: 64 });
    blank.data.fill(255);
    expect(errorOf(() => decodeQrImage(new Uint8Array(PNG.sync.write(blank)))).code).toBe('no-qr-code');
  });

  it('refuses a PNG header claiming a huge image before decoding pixels', async () => {
    const png = Uint8Array.from(await pngOf(AC));
    const dv = new DataView(png.buffer);
    dv.setUint32(16, 100_000);
    dv.setUint32(20, 100_000);
    expect(errorOf(() => decodeQrImage(png)).code).toBe('too-large');
  });

  it('fuzz: mutated PNG/JPEG bytes only ever give the QR text or a QrImageError', async () => {
    const png = await pngOf(AC, { scale: 2 });
    const jpg = pngToJpeg(png);
    fc.assert(
      fc.property(fc.boolean(), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }), fc.nat(), (useJpeg, flips, cut) => {
        const src = Uint8Array.from(useJpeg ? jpg : png);
        for (const [i, v] of flips) src[i % src.length] = v;
        const input = cut % 4 === 0 ? src.subarray(0, cut % src.length) : src;
        try {
          expect(typeof decodeQrImage(input)).toBe('string');
        } catch (e) {
          expect(e).toBeInstanceOf(QrImageError);
        }
      }),
      { numRuns: 300, seed: 42 },
    );
  });
});
