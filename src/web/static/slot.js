// @ts-check
/**
 * One slot: its eUICC (EID, firmware, free memory from getEuiccInfo2), its profiles with enable / disable /
 * rename / delete behind a confirmation, adding a profile, notifications, the OS update and the default
 * SM-DP+. Reloads when the service reports a profile change on this slot.
 */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { call, onEvent } from './api.js';
import { DownloadPanel } from './download.js';
import {
  announce,
  announceError,
  clearError,
  ConfirmDialog,
  describeResult,
  errorText,
  formatBytes,
  html,
  isEnabled,
  osuStatusText,
  policyRulesText,
  profileClassText,
  profileLabel,
} from './ui.js';
import { OsuStatus, ResultCode } from '/enums.js';

/**
 * @typedef {import('./api.js').Slot} Slot
 * @typedef {{ iccid: string, nickName: string, serviceProviderName: string, profileName: string, state: number, profileClass: number, policyRules: number, icon?: string, iconType?: 'png' | 'jpg' }} Profile
 *   (an EuiccProfile of getEuiccProfileInfoList, with icon/iconType joined from getProfileDetails)
 * @typedef {{ iccid: string, iconType?: 'png' | 'jpg', icon?: string }} ProfileDetails
 * @typedef {{ seqNumber: number, event: string, address: string, iccid?: string }} Notification
 */

/**
 * Run `f` once for each burst of events (the service may report several changes for one operation).
 * @param {() => void} f
 * @param {number} ms
 */
function useDebounced(f, ms) {
  const t = useRef(/** @type {ReturnType<typeof setTimeout> | undefined} */ (undefined));
  useEffect(() => () => clearTimeout(t.current), []);
  return () => {
    clearTimeout(t.current);
    t.current = setTimeout(f, ms);
  };
}

/** @param {{ slot: Slot }} p */
export function SlotPanel({ slot }) {
  const sid = `slot${slot.slotId}`;
  const [eid, setEid] = useState(/** @type {string | null} */ (null));
  const [info, setInfo] = useState(/** @type {any} */ (null));
  const [profiles, setProfiles] = useState(/** @type {Profile[] | null} */ (null));
  const [profilesError, setProfilesError] = useState('');
  const [infoError, setInfoError] = useState('');
  const [port, setPort] = useState(0);
  const [loading, setLoading] = useState(false);
  const [notifVersion, setNotifVersion] = useState(0);

  const loadProfiles = useCallback(async () => {
    try {
      // the seed's EuiccProfile has no icon: it comes from the getProfileDetails extension (without it: initials)
      const [r, details] = await Promise.all([
        call('getEuiccProfileInfoList', slot.slotId),
        call('getProfileDetails', slot.slotId).catch(() => null),
      ]);
      if (r.responseResult !== ResultCode.RESULT_OK) {
        setProfilesError(`The profiles cannot be read: ${describeResult(r.responseResult)}.`);
        setProfiles([]);
      } else {
        setProfilesError('');
        setProfiles(withIcons(r.profiles, details));
      }
    } catch (e) {
      setProfilesError(`The profiles cannot be read: ${errorText(e)}`);
    }
  }, [slot.slotId]);

  const loadInfo = useCallback(async () => {
    const [e, i] = await Promise.allSettled([call('getEid', slot.slotId), call('getEuiccInfo2', slot.slotId)]);
    if (e.status === 'fulfilled') setEid(e.value);
    if (i.status === 'fulfilled') setInfo(i.value);
    const bad = [e, i].find((x) => x.status === 'rejected');
    setInfoError(bad && bad.status === 'rejected' ? `The eUICC cannot be read: ${errorText(bad.reason)}` : '');
  }, [slot.slotId]);

  const reload = useCallback(async () => {
    setLoading(true);
    await Promise.all([loadInfo(), loadProfiles()]);
    setNotifVersion((v) => v + 1);
    setLoading(false);
  }, [loadInfo, loadProfiles]);

  useEffect(() => {
    if (slot.hasEuicc) void reload();
  }, [slot.slotId, slot.hasEuicc]);

  const changed = useDebounced(() => {
    void loadProfiles();
    void loadInfo(); // free memory changes with installs and deletes
    setNotifVersion((v) => v + 1);
  }, 150);
  useEffect(
    () =>
      onEvent('profileChange', (/** @type {import('./api.js').ProfileChangeEvent} */ e) => {
        if (e.slotId === slot.slotId) changed();
      }),
    [slot.slotId],
  );

  const ext = info?.extCardResource ?? {};
  return html`<section class="slot" aria-labelledby=${`${sid}-h`} aria-busy=${loading ? 'true' : 'false'} data-slot=${slot.slotId}>
    <h2 id=${`${sid}-h`} tabindex="-1">Slot ${slot.slotId}</h2>
    <p class="meta">
      ${slot.transport} transport · ${slot.ports} port${slot.ports === 1 ? '' : 's'} · ${slot.removable ? 'removable' : 'embedded'}
    </p>
    ${!slot.hasEuicc
      ? html`<p class="empty">No eUICC in this slot.</p>`
      : html`
          <div class="row end">
            ${slot.ports > 1
              ? html`<label for=${`${sid}-port`}>Port</label>
                  <select id=${`${sid}-port`} value=${String(port)} onChange=${(/** @type {Event} */ e) => setPort(Number(/** @type {HTMLSelectElement} */ (e.currentTarget).value))}>
                    ${Array.from({ length: slot.ports }, (_, i) => html`<option value=${String(i)}>${i}</option>`)}
                  </select>`
              : null}
            <button type="button" onClick=${() => reload().then(() => announce(`Slot ${slot.slotId} refreshed.`))} disabled=${loading}>
              ${loading ? 'Refreshing…' : html`Refresh<span class="sr-only"> slot ${slot.slotId}</span>`}
            </button>
          </div>
          <section class="panel" aria-labelledby=${`${sid}-euicc-h`}>
            <h3 id=${`${sid}-euicc-h`}>eUICC</h3>
            ${infoError ? html`<p class="bad">${infoError}</p>` : null}
            <dl class="facts">
              <dt>EID</dt><dd class="mono" data-testid="eid">${eid ?? '…'}</dd>
              <dt>Firmware (OS) version</dt><dd>${info?.firmwareVersion ?? '…'}</dd>
              <dt>SGP.22 version</dt><dd>${info?.svn ?? '…'}</dd>
              <dt>Profile package version</dt><dd>${info?.profileVersion ?? '…'}</dd>
              <dt>Free memory</dt><dd data-testid="free-memory">${info ? formatBytes(ext.freeNonVolatileMemory) : '…'}</dd>
              <dt>Free volatile memory</dt><dd>${info ? formatBytes(ext.freeVolatileMemory) : '…'}</dd>
              ${ext.installedApplications !== undefined ? html`<dt>Installed applications</dt><dd>${ext.installedApplications}</dd>` : null}
            </dl>
          </section>
          <${ProfilesTable} slot=${slot} port=${port} profiles=${profiles} error=${profilesError} reload=${loadProfiles} />
          <${DownloadPanel} slot=${slot} port=${port} onInstalled=${() => void loadProfiles()} />
          <${NotificationsPanel} slot=${slot} version=${notifVersion} />
          <${OsuPanel} slot=${slot} onUpdated=${() => void loadInfo()} />
          <${SmdpPanel} slot=${slot} />
        `}
  </section>`;
}

/**
 * The profiles with the icon and iconType of their getProfileDetails entry (same ICCID), when it has one.
 * @param {Profile[]} profiles
 * @param {ProfileDetails[] | null} details
 * @returns {Profile[]}
 */
function withIcons(profiles, details) {
  const byIccid = new Map((Array.isArray(details) ? details : []).map((d) => [d.iccid, d]));
  return profiles.map((p) => {
    const d = byIccid.get(p.iccid);
    return d && typeof d.icon === 'string' && (d.iconType === 'png' || d.iconType === 'jpg') ? { ...p, icon: d.icon, iconType: d.iconType } : p;
  });
}

/** Base64 of at most 1024 bytes (SGP.22's icon limit). */
const ICON_BASE64 = /^[A-Za-z0-9+/]{1,1366}={0,2}$/;

/**
 * The profile's icon as a data: URL (the CSP allows data: images only), or null when it has none.
 * @param {Profile} p
 */
function iconUrl(p) {
  if (typeof p.icon !== 'string' || !ICON_BASE64.test(p.icon) || p.icon.length % 4 !== 0) return null;
  return `data:${p.iconType === 'png' ? 'image/png' : 'image/jpeg'};base64,${p.icon}`;
}

/** @param {{ p: Profile }} x */
function ProfileIcon({ p }) {
  // The SGP.22 icon of the profile, named by the profile's name; else (no icon, or one the browser cannot
  // decode) the provider's initial.
  const [failed, setFailed] = useState('');
  const src = iconUrl(p);
  if (src !== null && src !== failed) {
    const name = p.profileName || p.serviceProviderName || p.iccid;
    return html`<img class="icon" src=${src} alt=${name} width="32" height="32" data-testid="profile-icon" onError=${() => setFailed(src)} />`;
  }
  const letter = (p.serviceProviderName || p.profileName || '?').trim().charAt(0).toUpperCase() || '?';
  return html`<span class="icon letter" aria-hidden="true" data-testid="profile-initial">${letter}</span>`;
}

/**
 * @typedef {{ kind: 'enable' | 'disable' | 'delete' | 'rename', p: Profile }} PendingAction
 * @param {{ slot: Slot, port: number, profiles: Profile[] | null, error: string, reload: () => Promise<void> }} props
 */
function ProfilesTable({ slot, port, profiles, error, reload }) {
  const sid = `slot${slot.slotId}`;
  const [action, setAction] = useState(/** @type {PendingAction | null} */ (null));
  const [busy, setBusy] = useState(/** @type {string | null} */ (null));
  /** @type {{ current: HTMLElement | null }} */
  const heading = useRef(null);
  const enabled = (profiles ?? []).filter((p) => isEnabled(p.state));

  /**
   * @param {PendingAction} a
   * @param {FormData} data
   */
  const run = async (a, data) => {
    setAction(null);
    clearError();
    const name = profileLabel(a.p);
    setBusy(a.p.iccid);
    try {
      let code;
      let done;
      switch (a.kind) {
        case 'enable':
          code = await call('switchToProfile', slot.slotId, port, a.p.iccid, true);
          done = `Profile ${name} enabled.`;
          break;
        case 'disable':
          code = await call('disableProfile', slot.slotId, port, a.p.iccid);
          done = `Profile ${name} disabled.`;
          break;
        case 'delete':
          code = await call('deleteProfile', slot.slotId, a.p.iccid);
          done = `Profile ${name} deleted.`;
          break;
        case 'rename': {
          const nick = String(data.get('nickname') ?? '').trim();
          code = await call('setProfileNickname', slot.slotId, a.p.iccid, nick);
          done = nick ? `Profile ${a.p.iccid} renamed to ${nick}.` : `Nickname of profile ${a.p.iccid} removed.`;
          break;
        }
      }
      if (code === ResultCode.RESULT_OK) announce(done);
      else announceError(`${a.kind[0]?.toUpperCase()}${a.kind.slice(1)} ${name}: ${describeResult(code)}.`);
    } catch (e) {
      announceError(`${a.kind[0]?.toUpperCase()}${a.kind.slice(1)} ${name}: ${errorText(e)}`);
    } finally {
      setBusy(null);
      await reload();
      // the control that opened the dialog may be gone with its row (delete): keep the focus in the panel
      setTimeout(() => {
        if (!document.activeElement || document.activeElement === document.body) heading.current?.focus();
      }, 0);
    }
  };

  const dialog = () => {
    if (!action) return null;
    const a = action;
    const name = profileLabel(a.p);
    const close = () => setAction(null);
    const back = () => heading.current;
    const confirm = (/** @type {FormData} */ d) => void run(a, d);
    switch (a.kind) {
      case 'enable': {
        const others = enabled.filter((p) => p.iccid !== a.p.iccid);
        return html`<${ConfirmDialog} title=${`Enable ${name}?`} confirmLabel="Enable" onConfirm=${confirm} onClose=${close} returnFocus=${back}>
          <p>The eUICC switches to <strong>${name}</strong> (ICCID <span class="mono">${a.p.iccid}</span>)${port ? ` on port ${port}` : ''}.</p>
          ${others.length ? html`<p>The enabled profile <strong>${others.map(profileLabel).join(', ')}</strong> will be disabled.</p>` : null}
        <//>`;
      }
      case 'disable':
        return html`<${ConfirmDialog} title=${`Disable ${name}?`} confirmLabel="Disable" onConfirm=${confirm} onClose=${close} returnFocus=${back}>
          <p>The device loses the service of <strong>${name}</strong> until a profile is enabled again.</p>
        <//>`;
      case 'delete':
        return html`<${ConfirmDialog} title=${`Delete ${name}?`} confirmLabel="Delete" danger onConfirm=${confirm} onClose=${close} returnFocus=${back}>
          <p>The profile <strong>${name}</strong> (ICCID <span class="mono">${a.p.iccid}</span>) is erased from the eUICC. This cannot be undone:
          to use it again you need a new activation code from the operator.</p>
        <//>`;
      case 'rename':
        return html`<${ConfirmDialog} title=${`Rename ${name}`} confirmLabel="Save nickname" onConfirm=${confirm} onClose=${close} returnFocus=${back}>
          <label for=${`${sid}-nick`}>Nickname</label>
          <input id=${`${sid}-nick`} name="nickname" type="text" maxlength="64" autocomplete="off" value=${a.p.nickName} data-autofocus="" aria-describedby=${`${sid}-nick-help`} />
          <p id=${`${sid}-nick-help`} class="help">At most 64 bytes; leave empty to remove the nickname.</p>
        <//>`;
    }
  };

  return html`<section class="panel" aria-labelledby=${`${sid}-profiles-h`}>
    <h3 id=${`${sid}-profiles-h`} ref=${heading} tabindex="-1">Profiles</h3>
    ${error ? html`<p class="bad">${error}</p>` : null}
    ${profiles === null
      ? html`<p>Loading…</p>`
      : profiles.length === 0
        ? html`<p class="empty">No profile on this eUICC yet. Add one below.</p>`
        : html`<table class="profiles">
            <caption class="sr-only">Profiles of slot ${slot.slotId}</caption>
            <thead>
              <tr><th scope="col"><span class="sr-only">Icon</span></th><th scope="col">Profile</th><th scope="col">Nickname</th><th scope="col">ICCID</th><th scope="col">State</th><th scope="col">Class</th><th scope="col">Actions</th></tr>
            </thead>
            <tbody>
              ${profiles.map((p) => {
                const on = isEnabled(p.state);
                const name = profileLabel(p);
                const b = busy === p.iccid;
                return html`<tr key=${p.iccid} data-iccid=${p.iccid}>
                  <td><${ProfileIcon} p=${p} /></td>
                  <th scope="row">${p.profileName || '—'}<br /><span class="sub">${p.serviceProviderName}</span></th>
                  <td data-testid="nickname">${p.nickName || html`<span class="sub">none</span>`}</td>
                  <td class="mono">${p.iccid}</td>
                  <td data-testid="state"><span class=${on ? 'state on' : 'state off'}><span aria-hidden="true">${on ? '● ' : '○ '}</span>${on ? 'Enabled' : 'Disabled'}</span>
                    ${p.policyRules ? html`<br /><span class="sub">Rules: ${policyRulesText(p.policyRules)}</span>` : null}</td>
                  <td>${profileClassText(p.profileClass)}</td>
                  <td class="actions">
                    ${on
                      ? html`<button type="button" disabled=${b} onClick=${() => setAction({ kind: 'disable', p })} aria-label=${`Disable ${name}`}>Disable</button>`
                      : html`<button type="button" disabled=${b} onClick=${() => setAction({ kind: 'enable', p })} aria-label=${`Enable ${name}`}>Enable</button>`}
                    <button type="button" disabled=${b} onClick=${() => setAction({ kind: 'rename', p })} aria-label=${`Rename ${name}`}>Rename</button>
                    <button
                      type="button"
                      class="danger"
                      disabled=${b || on}
                      onClick=${() => setAction({ kind: 'delete', p })}
                      aria-label=${`Delete ${name}`}
                      aria-describedby=${on ? `${sid}-del-help` : undefined}
                    >Delete</button>
                    ${b ? html`<span class="sub" role="status">Working…</span>` : null}
                  </td>
                </tr>`;
              })}
            </tbody>
          </table>
          ${enabled.length ? html`<p id=${`${sid}-del-help`} class="help">An enabled profile must be disabled before it can be deleted.</p>` : null}`}
    ${dialog()}
  </section>`;
}

/** @param {{ slot: Slot, version: number }} p */
function NotificationsPanel({ slot, version }) {
  const sid = `slot${slot.slotId}`;
  const [list, setList] = useState(/** @type {Notification[] | null} */ (null));
  const [sent, setSent] = useState(/** @type {(Notification & { at: string })[]} */ ([]));
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const [removing, setRemoving] = useState(/** @type {Notification | null} */ (null));
  /** @type {{ current: HTMLElement | null }} */
  const heading = useRef(null);

  const load = useCallback(async () => {
    try {
      setList(await call('listNotifications', slot.slotId));
      setError('');
    } catch (e) {
      setError(`The notifications cannot be read: ${errorText(e)}`);
    }
  }, [slot.slotId]);
  useEffect(() => void load(), [version]);

  /** @param {number} [seq] */
  const send = async (seq) => {
    setBusy(true);
    clearError();
    const before = list ?? [];
    try {
      /** @type {{ sent: number[], failed: { seqNumber: number, resultCode: number }[] }} */
      const r = seq === undefined ? await call('sendNotifications', slot.slotId) : await call('sendNotifications', slot.slotId, seq);
      const at = new Date().toLocaleTimeString();
      setSent((s) => [...before.filter((n) => r.sent.includes(n.seqNumber)).map((n) => ({ ...n, at })), ...s].slice(0, 20));
      if (r.failed.length) announceError(`${r.sent.length} notification(s) sent, ${r.failed.length} failed (${r.failed.map((f) => `#${f.seqNumber}: ${describeResult(f.resultCode)}`).join('; ')}).`);
      else announce(`${r.sent.length} notification(s) sent.`);
    } catch (e) {
      announceError(`Sending failed: ${errorText(e)}`);
    } finally {
      setBusy(false);
      await load();
    }
  };

  /** @param {Notification} n */
  const remove = async (n) => {
    setRemoving(null);
    setBusy(true);
    try {
      const code = await call('removeNotification', slot.slotId, n.seqNumber);
      if (code === ResultCode.RESULT_OK) announce(`Notification #${n.seqNumber} removed.`);
      else announceError(`Remove notification #${n.seqNumber}: ${describeResult(code)}.`);
    } catch (e) {
      announceError(`Remove notification #${n.seqNumber}: ${errorText(e)}`);
    } finally {
      setBusy(false);
      await load();
    }
  };

  return html`<section class="panel" aria-labelledby=${`${sid}-notif-h`}>
    <h3 id=${`${sid}-notif-h`} ref=${heading} tabindex="-1">Notifications</h3>
    <p class="help">The eUICC reports installs, enables, disables and deletes to the operator’s SM-DP+. They are sent automatically; pending ones are listed here.</p>
    ${error ? html`<p class="bad">${error}</p>` : null}
    ${list === null
      ? html`<p>Loading…</p>`
      : list.length === 0
        ? html`<p class="empty">No pending notification.</p>`
        : html`<table>
            <caption class="sr-only">Pending notifications of slot ${slot.slotId}</caption>
            <thead><tr><th scope="col">#</th><th scope="col">Event</th><th scope="col">Profile</th><th scope="col">SM-DP+</th><th scope="col">Actions</th></tr></thead>
            <tbody>
              ${list.map(
                (n) => html`<tr key=${n.seqNumber}>
                  <td>${n.seqNumber}</td><td>${n.event}</td><td class="mono">${n.iccid ?? '—'}</td><td>${n.address}</td>
                  <td class="actions">
                    <button type="button" disabled=${busy} onClick=${() => send(n.seqNumber)} aria-label=${`Send notification ${n.seqNumber}`}>Send</button>
                    <button type="button" class="danger" disabled=${busy} onClick=${() => setRemoving(n)} aria-label=${`Remove notification ${n.seqNumber}`}>Remove</button>
                  </td>
                </tr>`,
              )}
            </tbody>
          </table>
          <div class="row"><button type="button" disabled=${busy} onClick=${() => send()}>Send all pending notifications</button></div>`}
    ${sent.length
      ? html`<h4>Sent from this page</h4>
          <ul class="sent">${sent.map((n) => html`<li key=${`${n.seqNumber}-${n.at}`}>#${n.seqNumber} ${n.event} ${n.iccid ?? ''} → ${n.address}, ${n.at}</li>`)}</ul>`
      : null}
    ${removing
      ? html`<${ConfirmDialog}
          title=${`Remove notification #${removing.seqNumber}?`}
          confirmLabel="Remove"
          danger
          onConfirm=${() => void remove(removing)}
          onClose=${() => setRemoving(null)}
          returnFocus=${() => heading.current}
        >
          <p>The ${removing.event} notification is deleted from the eUICC without being sent: the SM-DP+ at ${removing.address} will not learn of it.</p>
        <//>`
      : null}
  </section>`;
}

/** @param {{ slot: Slot, onUpdated: () => void }} p */
function OsuPanel({ slot, onUpdated }) {
  const sid = `slot${slot.slotId}`;
  const [status, setStatus] = useState(/** @type {number | null} */ (null));
  const [progress, setProgress] = useState(/** @type {import('./api.js').OsuProgressEvent | null} */ (null));
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');

  const load = useCallback(async () => {
    try {
      setStatus(await call('getOsuStatus', slot.slotId));
      setError('');
    } catch (e) {
      setError(`The update status cannot be read: ${errorText(e)}`);
    }
  }, [slot.slotId]);
  useEffect(() => void load(), [slot.slotId]);
  useEffect(
    () =>
      onEvent('osuProgress', (/** @type {import('./api.js').OsuProgressEvent} */ e) => {
        if (e.slotId !== slot.slotId) return;
        setProgress(e);
        setStatus(e.status);
      }),
    [slot.slotId],
  );

  const start = async () => {
    setConfirming(false);
    setBusy(true);
    clearError();
    announce('OS update started.');
    try {
      const s = await call('startOsu', slot.slotId);
      setStatus(s);
      if (s === OsuStatus.EUICC_UPGRADE_SUCCESSFUL) onUpdated(); // the firmware version changed
      if (s === OsuStatus.EUICC_UPGRADE_SUCCESSFUL || s === OsuStatus.EUICC_UPGRADE_ALREADY_LATEST || s === OsuStatus.EUICC_UPGRADE_IN_PROGRESS) announce(`OS update: ${osuStatusText(s)}.`);
      else announceError(`OS update: ${osuStatusText(s)}.`);
    } catch (e) {
      announceError(`OS update: ${errorText(e)}`);
    } finally {
      setBusy(false);
    }
  };

  const running = busy || status === OsuStatus.EUICC_UPGRADE_IN_PROGRESS;
  const pct = progress && progress.total ? Math.round((100 * (progress.done ?? 0)) / progress.total) : null;
  return html`<section class="panel" aria-labelledby=${`${sid}-osu-h`}>
    <h3 id=${`${sid}-osu-h`}>eUICC OS update</h3>
    ${error ? html`<p class="bad">${error}</p>` : null}
    <p>Status: <strong data-testid="osu-status">${status === null ? '…' : osuStatusText(status)}</strong>${progress?.version ? ` (version ${progress.version})` : ''}</p>
    ${running && pct !== null
      ? html`<label for=${`${sid}-osu-progress`}>OS update progress</label>
          <progress id=${`${sid}-osu-progress`} max="100" value=${pct}>${pct}%</progress>`
      : null}
    ${slot.osuProvider
      ? html`<div class="row"><button type="button" disabled=${running} onClick=${() => setConfirming(true)}>${running ? 'Updating…' : 'Check for and install an OS update'}</button></div>`
      : html`<p class="help">This eUICC has no OS update provider.</p>`}
    ${confirming
      ? html`<${ConfirmDialog} title="Update the eUICC OS?" confirmLabel="Start the update" onConfirm=${() => void start()} onClose=${() => setConfirming(false)}>
          <p>The eUICC installs the newest signed OS image of its update source, if there is a newer one. Profiles are kept. Do not remove the card meanwhile.</p>
        <//>`
      : null}
  </section>`;
}

/** @param {{ slot: Slot }} p */
function SmdpPanel({ slot }) {
  const sid = `slot${slot.slotId}`;
  const [address, setAddress] = useState(/** @type {string | null} */ (null));
  const [draft, setDraft] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');

  const load = useCallback(async () => {
    try {
      const a = await call('getDefaultSmdpAddress', slot.slotId);
      setAddress(a);
      setDraft(a);
      setError('');
    } catch (e) {
      setError(`The default SM-DP+ cannot be read: ${errorText(e)}`);
    }
  }, [slot.slotId]);
  useEffect(() => void load(), [slot.slotId]);

  /** @param {Event} e */
  const save = async (e) => {
    e.preventDefault();
    setBusy(true);
    clearError();
    try {
      const code = await call('setDefaultSmdpAddress', slot.slotId, draft.trim());
      if (code === ResultCode.RESULT_OK) announce(`Default SM-DP+ set to ${draft.trim()}.`);
      else announceError(`Default SM-DP+: ${describeResult(code)}.`);
    } catch (x) {
      announceError(`Default SM-DP+: ${errorText(x)}`);
    } finally {
      setBusy(false);
      await load();
    }
  };

  return html`<section class="panel" aria-labelledby=${`${sid}-smdp-h`}>
    <h3 id=${`${sid}-smdp-h`}>Default SM-DP+</h3>
    ${error ? html`<p class="bad">${error}</p>` : null}
    <p>Current: <strong class="mono" data-testid="default-smdp">${address === null ? '…' : address || 'none'}</strong></p>
    <form class="row" onSubmit=${save}>
      <label for=${`${sid}-smdp`}>New default SM-DP+ address</label>
      <input id=${`${sid}-smdp`} type="text" autocomplete="off" spellcheck="false" placeholder="smdp.example.com" required value=${draft}
        onInput=${(/** @type {Event} */ e) => setDraft(/** @type {HTMLInputElement} */ (e.currentTarget).value)} />
      <button type="submit" disabled=${busy}>Set default SM-DP+</button>
    </form>
  </section>`;
}
