import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { crc32, DEMO_ICON_COLOURS, DEMO_ICON_SIZE, demoIcon, encodePng, MAX_ICON_BYTES } from './demo-icon.js';

describe('demoIcon', () => {
  it('is a valid 64 × 64 PNG within SGP.22’s 1024 bytes, of the given colour, with transparent corners', () => {
    for (const colour of Object.values(DEMO_ICON_COLOURS)) {
      const bytes = demoIcon(colour);
      expect(bytes.length).toBeGreaterThan(50);
      expect(bytes.length).toBeLessThanOrEqual(MAX_ICON_BYTES);
      expect([...bytes.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
      const png = PNG.sync.read(Buffer.from(bytes));
      expect([png.width, png.height]).toEqual([DEMO_ICON_SIZE, DEMO_ICON_SIZE]);
      const px = (x: number, y: number): number[] => [...png.data.subarray((y * png.width + x) * 4, (y * png.width + x) * 4 + 4)];
      expect(px(0, 0)[3]).toBe(0); // rounded corner
      expect(px(4, 32)).toEqual([...colour, 255]); // background
      expect(px(20, 20)).toEqual([255, 255, 255, 255]); // the card
      expect(px(44, 11)).toEqual([...colour, 255]); // its cut corner
      expect(px(26, 30)).toEqual([0xe0, 0xb0, 0x3c, 255]); // the chip
    }
  });

  it('is deterministic and differs per colour', () => {
    const a = demoIcon(DEMO_ICON_COLOURS['SM-DS']);
    expect(demoIcon(DEMO_ICON_COLOURS['SM-DS'])).toEqual(a);
    expect(demoIcon(DEMO_ICON_COLOURS['activation code'])).not.toEqual(a);
  });
});

describe('encodePng / crc32', () => {
  it('crc32 of "123456789" is the check value CBF43926 (ISO 3309 / PNG)', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
  });

  it('writes what pngjs reads back, pixel for pixel; refuses a wrong buffer size', () => {
    const rgba = new Uint8Array(3 * 2 * 4).map((_, i) => (i * 37) & 0xff);
    const png = PNG.sync.read(Buffer.from(encodePng(3, 2, rgba)));
    expect([png.width, png.height]).toEqual([3, 2]);
    expect(new Uint8Array(png.data)).toEqual(rgba);
    expect(() => encodePng(3, 2, new Uint8Array(5))).toThrow(RangeError);
  });
});
