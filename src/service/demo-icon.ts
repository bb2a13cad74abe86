/**
 * The icons of the embedded default's demo profiles: a 64 × 64 PNG drawn in code (a SIM card with its chip on
 * a rounded square of the profile's colour), small enough for SGP.22's icon (StoreMetadataRequest icon [20]:
 * at most 1024 bytes, 64 × 64 pixels, iconType png(1)).
 *
 * The PNG is written here (signature, IHDR, one IDAT deflated with node:zlib, IEND; CRC-32 per chunk) rather
 * than with pngjs: home.ts is on the path of every CLI call that reads the shell token, and loading pngjs
 * there cost ~13 ms. The tests decode it with pngjs.
 */
import { deflateSync } from 'node:zlib';

/** SGP.22 limit of a profile icon, in bytes. */
export const MAX_ICON_BYTES = 1024;
export const DEMO_ICON_SIZE = 64;

export type Rgb = readonly [number, number, number];

/** The colours of the demo profiles, by kind. */
export const DEMO_ICON_COLOURS: Readonly<Record<'default SM-DP+' | 'SM-DS' | 'activation code', Rgb>> = {
  'default SM-DP+': [0x0b, 0x57, 0xd0],
  'SM-DS': [0x14, 0x6c, 0x2e],
  'activation code': [0xc2, 0x4e, 0x00],
};

const WHITE: Rgb = [0xff, 0xff, 0xff];
const GOLD: Rgb = [0xe0, 0xb0, 0x3c];
const GOLD_DARK: Rgb = [0x9a, 0x74, 0x1c];

/** A 64 × 64 PNG (RGBA, transparent corners): a white SIM card with a gold chip on a rounded square of `colour`. */
export function demoIcon(colour: Rgb): Uint8Array {
  const n = DEMO_ICON_SIZE;
  const rgba = new Uint8Array(n * n * 4);
  const put = (x: number, y: number, c: Rgb, a = 255): void => {
    const i = (y * n + x) * 4;
    rgba[i] = c[0];
    rgba[i + 1] = c[1];
    rgba[i + 2] = c[2];
    rgba[i + 3] = a;
  };
  const r = 12; // corner radius of the background
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const cx = x < r ? r - 0.5 : x >= n - r ? n - r - 0.5 : x + 0.5;
      const cy = y < r ? r - 0.5 : y >= n - r ? n - r - 0.5 : y + 0.5;
      const outside = (x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2 > r * r;
      if (outside) {
        put(x, y, [0, 0, 0], 0);
        continue;
      }
      // the SIM card: x 18..45, y 10..53, its top-right corner cut at 45°
      const card = x >= 18 && x <= 45 && y >= 10 && y <= 53 && 45 - x + (y - 10) >= 8;
      // the chip: x 24..39, y 28..43, with contact lines
      const chip = x >= 24 && x <= 39 && y >= 28 && y <= 43;
      const line = chip && (x === 31 || y === 33 || y === 38);
      put(x, y, line ? GOLD_DARK : chip ? GOLD : card ? WHITE : colour);
    }
  }
  const bytes = encodePng(n, n, rgba);
  if (bytes.length > MAX_ICON_BYTES) throw new Error(`demo icon of ${bytes.length} bytes exceeds SGP.22's ${MAX_ICON_BYTES}`);
  return bytes;
}

// ------------------------------------------------------------------------------------------ PNG writer

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (ISO 3309, as PNG uses it). */
export function crc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of data) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  out.set(data, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/** An 8-bit RGBA PNG (colour type 6, no interlace, filter 0 on every row) of `rgba` (width × height × 4 bytes). */
export function encodePng(width: number, height: number, rgba: Uint8Array): Uint8Array {
  if (rgba.length !== width * height * 4) throw new RangeError('encodePng: rgba must hold width × height × 4 bytes');
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // RGBA
  // compression 0, filter 0, interlace 0
  const raw = Buffer.alloc(height * (1 + width * 4));
  for (let y = 0; y < height; y++) raw.set(rgba.subarray(y * width * 4, (y + 1) * width * 4), y * (1 + width * 4) + 1);
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const png = Buffer.concat([signature, chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw, { level: 9 })), chunk('IEND', new Uint8Array(0))]);
  return new Uint8Array(png.buffer, png.byteOffset, png.length);
}
