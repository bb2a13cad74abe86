// @ts-check
/**
 * The dashboard's client of the daemon's HTTP API (src/service/http-api.ts): login, session, calls and the
 * event stream. The session lives in an HttpOnly cookie: this code never sees it, and never keeps a token
 * (no localStorage, no sessionStorage, no global).
 */

/** A refusal of the API: `code` is the eSIM API's BusinessError code (201, 202, 401, 801, 3120001, 3120002). */
export class ApiError extends Error {
  /**
   * @param {number} code
   * @param {string} message
   * @param {number} [status] HTTP status
   */
  constructor(code, message, status) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.status = status ?? 200;
  }
}

/** @type {Set<() => void>} */
const sessionLostListeners = new Set();

/** Called when a call finds the session gone (expired, logged out elsewhere, token revoked). */
export function onSessionLost(/** @type {() => void} */ f) {
  sessionLostListeners.add(f);
  return () => void sessionLostListeners.delete(f);
}

/**
 * @param {string} path
 * @param {unknown} [body] JSON body (POST); GET without
 * @returns {Promise<{ status: number, json: any }>}
 */
async function request(path, body) {
  /** @type {RequestInit} */
  const init = { credentials: 'same-origin', cache: 'no-store' };
  if (body !== undefined) {
    init.method = 'POST';
    init.headers = { 'content-type': 'application/json' };
    init.body = JSON.stringify(body);
  }
  let r;
  try {
    r = await fetch(path, init);
  } catch {
    throw new ApiError(3120001, 'The esimkit daemon cannot be reached. Is `esim serve` still running?', 0);
  }
  let json;
  try {
    json = await r.json();
  } catch {
    throw new ApiError(3120002, `Unexpected answer from the daemon (HTTP ${r.status}).`, r.status);
  }
  return { status: r.status, json };
}

/**
 * @typedef {{ bundleName: string, systemApp: boolean, permissions: string[] }} Caller
 * @typedef {{ slotId: number, transport: string, ports: number, removable: boolean, hasEuicc: boolean, osuProvider: boolean }} Slot
 * @typedef {{ caller: Caller, slots: Slot[] }} Session
 */

/**
 * Log in with a token (the home's shell.token or an app token). The token is sent once and not kept.
 * @param {string} token
 * @returns {Promise<Caller>}
 */
export async function login(token) {
  const { status, json } = await request('/api/login', { token });
  if (status !== 200 || !json || !json.caller) {
    const e = json && json.error;
    throw new ApiError(e ? e.code : 201, status === 401 ? 'This token is not valid for this daemon.' : e ? e.message : `Login failed (HTTP ${status}).`, status);
  }
  return json.caller;
}

export async function logout() {
  await request('/api/logout', {});
}

/** @returns {Promise<Session | null>} null without a valid session */
export async function getSession() {
  const { status, json } = await request('/api/session');
  if (status === 401) return null;
  if (status !== 200) throw new ApiError(json?.error?.code ?? 3120002, json?.error?.message ?? `HTTP ${status}`, status);
  return json;
}

/**
 * Call a function of the eSIM API as the logged-in caller. Resolves with its value (ResultCodes and result
 * objects resolve, as in the API); rejects with ApiError for the BusinessError codes.
 * @param {string} fn
 * @param {...unknown} args
 * @returns {Promise<any>}
 */
export async function call(fn, ...args) {
  const { status, json } = await request('/api/call', { fn, args });
  if (status === 401) {
    for (const f of sessionLostListeners) f();
    throw new ApiError(201, 'Your session has ended: log in again.', status);
  }
  if (json && json.error) throw new ApiError(json.error.code, json.error.message, status);
  if (status !== 200 || !json || !('value' in json)) throw new ApiError(3120002, `Unexpected answer from the daemon (HTTP ${status}).`, status);
  return json.value;
}

/**
 * @typedef {{ slotId: number, portIndex?: number, iccid: string, change: string }} ProfileChangeEvent
 * @typedef {{ slotId: number, portIndex: number, transactionId?: string, step: string, done?: number, total?: number, resultCode?: number }} DownloadProgressEvent
 * @typedef {{ slotId: number, status: number, done?: number, total?: number, version?: string }} OsuProgressEvent
 * @typedef {'connecting' | 'open' | 'closed'} StreamState
 */

/** @type {Map<string, Set<(payload: any) => void>>} */
const listeners = new Map();

/**
 * Listen to one event of /api/events.
 * @param {'profileChange' | 'downloadProgress' | 'osuProgress'} name
 * @param {(payload: any) => void} f
 * @returns {() => void} unsubscribe
 */
export function onEvent(name, f) {
  let s = listeners.get(name);
  if (!s) listeners.set(name, (s = new Set()));
  s.add(f);
  return () => void s.delete(f);
}

/**
 * Open the event stream (once per login). `onState` tells whether live updates work.
 * @param {(s: StreamState) => void} onState
 * @returns {() => void} close
 */
export function openEvents(onState) {
  const es = new EventSource('/api/events');
  onState('connecting');
  es.onopen = () => onState('open');
  es.onerror = () => onState(es.readyState === EventSource.CLOSED ? 'closed' : 'connecting');
  for (const name of ['profileChange', 'downloadProgress', 'osuProgress']) {
    es.addEventListener(name, (ev) => {
      let payload;
      try {
        payload = JSON.parse(/** @type {MessageEvent} */ (ev).data);
      } catch {
        return;
      }
      for (const f of listeners.get(name) ?? []) f(payload);
    });
  }
  return () => {
    es.close();
    onState('closed');
  };
}
