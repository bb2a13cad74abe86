/**
 * Reading an activation code from a QR image (PNG or JPEG), as `esim profile download --qr` and the dashboard's
 * QR upload need. Decoders: pngjs / jpeg-js (pixels) and jsQR (the QR symbol). Every failure is a typed
 * QrImageError; images are bounded in size before any pixel is decoded.
 */
import jpeg from 'jpeg-js';
import jsQRModule from 'jsqr';
import { PNG } from 'pngjs';

export type QrImageErrorCode = 'unsupported-format' | 'bad-image' | 'too-large' | 'no-qr-code';

export class QrImageError extends Error {
  override readonly name = 'QrImageError';
  constructor(
    readonly code: QrImageErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Images are refused above this many bytes (files) or pixels (decoded). */
export const MAX_QR_IMAGE_BYTES = 16 * 1024 * 1024;
export const MAX_QR_IMAGE_PIXELS = 25_000_000;

// jsqr is CommonJS with `exports.default`: under NodeNext the default import is the module object
const jsQR = jsQRModule.default;

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export function imageFormatOf(bytes: Uint8Array): 'png' | 'jpeg' | undefined {
  if (bytes.length >= 8 && PNG_MAGIC.every((b, i) => bytes[i] === b)) return 'png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  return undefined;
}

function pngDimensions(bytes: Uint8Array): { width: number; height: number } {
  // IHDR is the first chunk: length(4) 'IHDR'(4) width(4) height(4)
  if (bytes.length < 24 || bytes[12] !== 0x49 || bytes[13] !== 0x48 || bytes[14] !== 0x44 || bytes[15] !== 0x52) {
    throw new QrImageError('bad-image', 'PNG without an IHDR chunk');
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { width: dv.getUint32(16), height: dv.getUint32(20) };
}

function rgba(bytes: Uint8Array): { data: Uint8ClampedArray; width: number; height: number } {
  if (bytes.length > MAX_QR_IMAGE_BYTES) throw new QrImageError('too-large', `image of ${bytes.length} bytes (max ${MAX_QR_IMAGE_BYTES})`);
  const format = imageFormatOf(bytes);
  if (format === 'png') {
    const { width, height } = pngDimensions(bytes);
    if (width === 0 || height === 0 || width * height > MAX_QR_IMAGE_PIXELS) {
      throw new QrImageError('too-large', `PNG of ${width}x${height} pixels (max ${MAX_QR_IMAGE_PIXELS} pixels)`);
    }
    let png: PNG;
    try {
      png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    } catch (e) {
      throw new QrImageError('bad-image', `PNG cannot be decoded: ${(e as Error).message}`);
    }
    return { data: new Uint8ClampedArray(png.data.buffer, png.data.byteOffset, png.data.byteLength), width: png.width, height: png.height };
  }
  if (format === 'jpeg') {
    let img: { width: number; height: number; data: Uint8Array };
    try {
      img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: MAX_QR_IMAGE_PIXELS / 1e6, maxMemoryUsageInMB: 512 });
    } catch (e) {
      const m = (e as Error).message;
      throw new QrImageError(/maxResolution|memory/i.test(m) ? 'too-large' : 'bad-image', `JPEG cannot be decoded: ${m}`);
    }
    return { data: new Uint8ClampedArray(img.data.buffer, img.data.byteOffset, img.data.byteLength), width: img.width, height: img.height };
  }
  throw new QrImageError('unsupported-format', 'not a PNG or JPEG image');
}

/** The text of the QR code in a PNG or JPEG image (e.g. `LPA:1$smdp.example.com$MATCHING-ID`). */
export function decodeQrImage(bytes: Uint8Array): string {
  const { data, width, height } = rgba(bytes);
  if (data.length !== width * height * 4) throw new QrImageError('bad-image', 'decoded pixel data has the wrong size');
  const code = jsQR(data, width, height, { inversionAttempts: 'attemptBoth' });
  if (!code) throw new QrImageError('no-qr-code', 'no QR code found in the image');
  return code.data;
}
