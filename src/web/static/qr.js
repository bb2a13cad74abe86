// @ts-check
/**
 * Reading an activation code from a QR code in the browser: an uploaded image (PNG, JPEG, any format the
 * browser decodes) or the camera (getUserMedia, where available). The QR symbol is decoded by jsQR, served
 * by the daemon from node_modules (/vendor/jsqr.mjs) and loaded only when needed. Nothing leaves the page.
 */

/** Files above this size are refused before decoding. */
export const MAX_IMAGE_BYTES = 16 * 1024 * 1024;
/** Images are scaled down to at most this many pixels on their longer side before decoding. */
const MAX_SIDE = 2048;

/** @typedef {(data: Uint8ClampedArray, width: number, height: number, o?: { inversionAttempts?: string }) => ({ data: string } | null)} JsQR */

/** @type {Promise<JsQR> | undefined} */
let jsqr;
function loadJsQR() {
  jsqr ??= import('/vendor/jsqr.mjs').then((m) => /** @type {JsQR} */ (m.default));
  return jsqr;
}

export class QrError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = 'QrError';
  }
}

/**
 * @param {CanvasImageSource & { width: number, height: number }} source
 * @param {number} width
 * @param {number} height
 */
function pixels(source, width, height) {
  const scale = Math.min(1, MAX_SIDE / Math.max(width, height));
  const w = Math.max(1, Math.round(width * scale));
  const h = Math.max(1, Math.round(height * scale));
  const canvas = document.createElement('canvas');
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new QrError('This browser cannot read image pixels (no 2D canvas).');
  ctx.drawImage(source, 0, 0, w, h);
  return ctx.getImageData(0, 0, w, h);
}

/**
 * Decode the QR code of an image file; resolves with its text.
 * @param {File} file
 * @returns {Promise<string>}
 */
export async function decodeQrFile(file) {
  if (file.size > MAX_IMAGE_BYTES) throw new QrError(`The image is too large (${file.size} bytes; at most ${MAX_IMAGE_BYTES}).`);
  let bitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    throw new QrError(`${file.name || 'The file'} is not an image this browser can read.`);
  }
  try {
    const decode = await loadJsQR();
    const img = pixels(bitmap, bitmap.width, bitmap.height);
    const found = decode(img.data, img.width, img.height, { inversionAttempts: 'attemptBoth' });
    if (!found || !found.data) throw new QrError('No QR code was found in the image.');
    return found.data;
  } finally {
    bitmap.close();
  }
}

/** Whether the camera can be used here (secure context: 127.0.0.1 is one). */
export function cameraAvailable() {
  return typeof navigator !== 'undefined' && !!navigator.mediaDevices && typeof navigator.mediaDevices.getUserMedia === 'function';
}

/**
 * Scan with the camera into `video` until a QR code is seen or `signal` aborts; resolves with its text.
 * The camera is released in every case.
 * @param {HTMLVideoElement} video
 * @param {AbortSignal} signal
 * @returns {Promise<string>}
 */
export async function scanWithCamera(video, signal) {
  const decode = await loadJsQR();
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' }, audio: false });
  } catch (e) {
    const name = e instanceof Error ? e.name : '';
    throw new QrError(name === 'NotAllowedError' ? 'The camera permission was refused.' : name === 'NotFoundError' ? 'No camera was found.' : 'The camera cannot be opened.');
  }
  try {
    video.srcObject = stream;
    video.muted = true;
    video.playsInline = true;
    await video.play();
    for (;;) {
      if (signal.aborted) throw new QrError('Scanning stopped.');
      if (video.videoWidth > 0 && video.videoHeight > 0) {
        const img = pixels(video, video.videoWidth, video.videoHeight);
        const found = decode(img.data, img.width, img.height, { inversionAttempts: 'attemptBoth' });
        if (found && found.data) return found.data;
      }
      await new Promise((r) => setTimeout(r, 150));
    }
  } finally {
    for (const t of stream.getTracks()) t.stop();
    video.srcObject = null;
  }
}
