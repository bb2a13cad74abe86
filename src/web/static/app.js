// @ts-check
/**
 * The esimkit dashboard: login by token, then the slots (slot.js), the pending addProfile requests and the
 * live event stream. Served by the daemon (src/web/dashboard.ts); talks to its HTTP API (api.js).
 */
import { render } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, call, getSession, login, logout, onSessionLost, openEvents } from './api.js';
import { DownloadProgress, useDownloadProgress } from './download.js';
import { SlotPanel } from './slot.js';
import { announce, announceError, clearError, ConfirmDialog, describeResult, errorText, html, LiveRegions } from './ui.js';
import { ResultCode } from '/enums.js';

/** @typedef {import('./api.js').Session} Session */

function App() {
  const [session, setSession] = useState(/** @type {Session | null | undefined} */ (undefined));
  const [notice, setNotice] = useState('');

  useEffect(() => {
    getSession().then(setSession, (e) => {
      setSession(null);
      setNotice(errorText(e));
    });
    return onSessionLost(() => {
      setSession(null);
      setNotice('Your session has ended: log in again.');
    });
  }, []);

  return html`<${LiveRegions} />
    ${session === undefined
      ? html`<main><p>Loading…</p></main>`
      : session === null
        ? html`<${LoginPage} notice=${notice} onLogin=${(/** @type {Session} */ s) => { setNotice(''); setSession(s); }} />`
        : html`<${Dashboard}
            session=${session}
            onLogout=${async () => {
              await logout().catch(() => undefined);
              setSession(null);
              setNotice('');
              announce('Logged out.');
            }}
          />`}`;
}

/** @param {{ notice: string, onLogin: (s: Session) => void }} p */
function LoginPage({ notice, onLogin }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  /** @type {{ current: HTMLInputElement | null }} */
  const input = useRef(null);
  useEffect(() => input.current?.focus(), []);

  /** @param {Event} e */
  const submit = async (e) => {
    e.preventDefault();
    const field = input.current;
    if (!field) return;
    const token = field.value.trim();
    field.value = ''; // the token is sent once and kept nowhere
    if (!token) {
      setError('Enter a token.');
      field.focus();
      return;
    }
    setBusy(true);
    setError('');
    try {
      await login(token);
      const s = await getSession();
      if (!s) throw new ApiError(201, 'The session could not be opened (are cookies blocked?).');
      announce(`Logged in as ${s.caller.bundleName}.`);
      onLogin(s);
    } catch (x) {
      setError(x instanceof ApiError ? x.message : errorText(x));
      setBusy(false);
      field.focus();
    }
  };

  return html`<main class="login">
    <h1>esimkit dashboard</h1>
    ${notice ? html`<p class="notice">${notice}</p>` : null}
    <form onSubmit=${submit} aria-describedby="token-help">
      <label for="token">Access token</label>
      <input id="token" ref=${input} type="password" name="token" autocomplete="off" spellcheck="false" required
        aria-invalid=${error ? 'true' : 'false'} aria-describedby=${error ? 'token-help login-error' : 'token-help'} />
      <p id="token-help" class="help">
        The content of the <code>shell.token</code> file of the esimkit home (printed by <code>esim serve</code>), or an app token from
        <code>esim apps add</code>. It is sent once to open a session and is not stored by this page.
      </p>
      ${error ? html`<p id="login-error" class="bad" role="alert"><span aria-hidden="true">⚠ </span>${error}</p>` : null}
      <button type="submit" class="primary" disabled=${busy}>${busy ? 'Logging in…' : 'Log in'}</button>
    </form>
  </main>`;
}

/** @param {{ session: Session, onLogout: () => void }} p */
function Dashboard({ session, onLogout }) {
  const [stream, setStream] = useState(/** @type {import('./api.js').StreamState} */ ('connecting'));
  useEffect(() => openEvents(setStream), []);
  const { caller, slots } = session;
  return html`<header class="top">
      <h1>esimkit dashboard</h1>
      <p class="who">Logged in as <strong>${caller.bundleName}</strong>${caller.systemApp ? ' (system)' : ''}</p>
      <p class="stream" data-state=${stream}>
        Live updates: ${stream === 'open' ? 'on' : stream === 'connecting' ? 'connecting…' : 'off (refresh to see changes)'}
      </p>
      <button type="button" onClick=${onLogout}>Log out</button>
    </header>
    <nav aria-label="Slots" class="slots-nav">
      <ul>${slots.map((s) => html`<li key=${s.slotId}><a href=${`#slot${s.slotId}-h`}>Slot ${s.slotId}${s.hasEuicc ? '' : ' (empty)'}</a></li>`)}</ul>
    </nav>
    <main>
      <${PendingAdds} slots=${slots} />
      ${slots.map((s) => html`<${SlotPanel} key=${s.slotId} slot=${s} />`)}
    </main>`;
}

/**
 * @typedef {{ id: string, slotId: number, smdpAddress: string, carrierName?: string, hasConfirmationCode: boolean, caller: string, createdAt: number }} PendingAdd
 * @param {{ slots: import('./api.js').Slot[] }} p
 */
function PendingAdds({ slots }) {
  const [list, setList] = useState(/** @type {PendingAdd[] | null} */ (null));
  const [error, setError] = useState('');
  const [action, setAction] = useState(/** @type {{ kind: 'accept' | 'reject', p: PendingAdd } | null} */ (null));
  const [running, setRunning] = useState(/** @type {PendingAdd | null} */ (null));
  const [finished, setFinished] = useState(/** @type {number | null} */ (null));
  const [progress, setProgress] = useDownloadProgress(running?.slotId ?? -1, running !== null && finished === null);
  /** @type {{ current: HTMLElement | null }} */
  const heading = useRef(null);

  const load = useCallback(async () => {
    try {
      setList(await call('listPendingAdds'));
      setError('');
    } catch (e) {
      setError(`The pending requests cannot be read: ${errorText(e)}`);
    }
  }, []);
  useEffect(() => {
    void load();
    const t = setInterval(() => void load(), 10_000); // apps add requests at any time: no event for them
    return () => clearInterval(t);
  }, []);

  /**
   * @param {{ kind: 'accept' | 'reject', p: PendingAdd }} a
   * @param {FormData} data
   */
  const resolve = async (a, data) => {
    setAction(null);
    clearError();
    const what = `the request of ${a.p.caller}${a.p.carrierName ? ` for ${a.p.carrierName}` : ''}`;
    if (a.kind === 'reject') {
      try {
        await call('resolvePendingAdd', a.p.id, false);
        announce(`Rejected ${what}.`);
      } catch (e) {
        announceError(`Reject ${what}: ${errorText(e)}`);
      }
      await load();
      return;
    }
    setProgress(null);
    setFinished(null);
    setRunning(a.p);
    announce(`Accepted ${what}: downloading the profile.`);
    let code = ResultCode.RESULT_SGP_22_OTHER;
    try {
      const r = await call('resolvePendingAdd', a.p.id, true, {
        switchAfterDownload: data.get('enable') === 'on',
        forceDisableProfile: true,
        isPprAllowed: data.get('ppr') === 'on',
      });
      code = r ? r.responseResult : ResultCode.RESULT_SGP_22_OTHER;
    } catch (e) {
      announceError(`Accept ${what}: ${errorText(e)}`);
    }
    setFinished(code);
    if (code === ResultCode.RESULT_OK) announce(`Profile of ${what} installed in slot ${a.p.slotId}.`);
    else announceError(`The profile of ${what} was not installed: ${describeResult(code)}.`);
    await load();
  };

  if (list === null && !error) return null;
  const slotIds = new Set(slots.map((s) => s.slotId));
  return html`<section class="panel pending" aria-labelledby="pending-h">
    <h2 id="pending-h" ref=${heading} tabindex="-1">Profile requests from apps</h2>
    ${error ? html`<p class="bad">${error}</p>` : null}
    ${list && list.length === 0
      ? html`<p class="empty">No app is waiting for a profile download.</p>`
      : list
        ? html`<table>
            <caption class="sr-only">Pending addProfile requests</caption>
            <thead><tr><th scope="col">App</th><th scope="col">Carrier</th><th scope="col">SM-DP+</th><th scope="col">Slot</th><th scope="col">Requested</th><th scope="col">Actions</th></tr></thead>
            <tbody>
              ${list.map(
                (p) => html`<tr key=${p.id}>
                  <td>${p.caller}</td>
                  <td>${p.carrierName || '—'}${p.hasConfirmationCode ? html`<br /><span class="sub">with a confirmation code</span>` : null}</td>
                  <td>${p.smdpAddress}</td>
                  <td>${slotIds.has(p.slotId) ? p.slotId : '?'}</td>
                  <td>${new Date(p.createdAt).toLocaleString()}</td>
                  <td class="actions">
                    <button type="button" class="primary" disabled=${running !== null && finished === null} onClick=${() => setAction({ kind: 'accept', p })}
                      aria-label=${`Accept the request of ${p.caller}${p.carrierName ? ` for ${p.carrierName}` : ''}`}>Accept</button>
                    <button type="button" class="danger" disabled=${running !== null && finished === null} onClick=${() => setAction({ kind: 'reject', p })}
                      aria-label=${`Reject the request of ${p.caller}${p.carrierName ? ` for ${p.carrierName}` : ''}`}>Reject</button>
                  </td>
                </tr>`,
              )}
            </tbody>
          </table>`
        : null}
    ${running
      ? html`<${DownloadProgress} id="pending-progress" progress=${progress} finished=${finished} />`
      : null}
    ${action?.kind === 'accept'
      ? html`<${ConfirmDialog}
          title=${`Download the profile requested by ${action.p.caller}?`}
          confirmLabel="Download"
          onConfirm=${(/** @type {FormData} */ d) => void resolve(action, d)}
          onClose=${() => setAction(null)}
          returnFocus=${() => heading.current}
        >
          <p>The profile${action.p.carrierName ? ` of ${action.p.carrierName}` : ''} is downloaded from ${action.p.smdpAddress} into slot ${action.p.slotId}.</p>
          <div class="field"><input id="pending-enable" name="enable" type="checkbox" /><label for="pending-enable">Enable it after download</label></div>
          <div class="field"><input id="pending-ppr" name="ppr" type="checkbox" /><label for="pending-ppr">Accept the profile policy rules it may carry</label></div>
        <//>`
      : action?.kind === 'reject'
        ? html`<${ConfirmDialog}
            title=${`Reject the request of ${action.p.caller}?`}
            confirmLabel="Reject"
            danger
            onConfirm=${(/** @type {FormData} */ d) => void resolve(action, d)}
            onClose=${() => setAction(null)}
            returnFocus=${() => heading.current}
          >
            <p>Nothing is downloaded and the request is removed.</p>
          <//>`
        : null}
  </section>`;
}

const root = document.getElementById('app');
if (root) {
  root.replaceChildren();
  render(html`<${App} />`, root);
}
