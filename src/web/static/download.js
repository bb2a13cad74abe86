// @ts-check
/**
 * Adding a profile: an activation code (typed, pasted, read from a QR image or scanned with the camera) or a
 * profile found by discovery → the metadata preview (getDownloadableProfileMetadata) → a confirmation code
 * and PPR consent when the profile needs them → downloadProfile with a live progress bar fed by the
 * downloadProgress events, and a Cancel button (cancelSession with the event's transactionId).
 * The confirmation code is only sent: it is never shown, kept in state or echoed.
 */
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { call, onEvent } from './api.js';
import { cameraAvailable, decodeQrFile, scanWithCamera } from './qr.js';
import {
  announce,
  announceError,
  clearError,
  describeResult,
  Dialog,
  errorText,
  html,
  policyRulesText,
  profileClassText,
  smdpOf,
} from './ui.js';
import { CancelReason, ResultCode, SolvableErrors } from '/enums.js';

const STEPS = /** @type {const} */ ([
  ['authenticating', 'Authenticate with the SM-DP+'],
  ['downloading', 'Download the bound profile package'],
  ['installing', 'Install on the eUICC'],
  ['notifying', 'Notify the SM-DP+'],
]);
/** @type {Map<string, number>} */
const STEP_INDEX = new Map(STEPS.map(([s], i) => [s, i]));

/**
 * @typedef {{ step: string, done?: number, total?: number, transactionId?: string, resultCode?: number, reached: number }} Progress
 */

/** @param {Progress | null} p */
function percent(p) {
  if (!p) return 0;
  switch (p.step) {
    case 'authenticating':
      return 5;
    case 'downloading':
      return 15;
    case 'installing':
      return p.total ? 20 + Math.round((70 * (p.done ?? 0)) / p.total) : 20;
    case 'notifying':
      return 95;
    case 'done':
      return 100;
    default:
      return 0;
  }
}

/** How long the progress keeps listening for a download's late events after its call answered. */
const DRAIN_MS = 3000;

/**
 * The download progress of a slot while `active`, from the downloadProgress events.
 * @param {number} slotId
 * @param {boolean} active
 * @returns {[Progress | null, (p: Progress | null) => void]}
 */
export function useDownloadProgress(slotId, active) {
  const [progress, setProgress] = useState(/** @type {Progress | null} */ (null));
  // The call's answer can arrive before the last events of the stream (a loaded machine): after `active`
  // ends, keep listening until the download's final event ('done' / 'failed'), at most DRAIN_MS.
  const [draining, setDraining] = useState(false);
  const wasActive = useRef(false);
  useEffect(() => {
    if (active) {
      wasActive.current = true;
      setDraining(false);
      return;
    }
    if (!wasActive.current) return;
    wasActive.current = false;
    setDraining(true);
    const t = setTimeout(() => setDraining(false), DRAIN_MS);
    return () => clearTimeout(t);
  }, [active]);
  const listening = active || draining;
  // a layout effect: subscribed in the render that follows the click (a microtask), before any answer of the
  // call can arrive; a plain effect waits for the next frame, and a fast download's events are over by then
  useLayoutEffect(() => {
    if (!listening) return;
    let last = '';
    return onEvent('downloadProgress', (/** @type {import('./api.js').DownloadProgressEvent} */ e) => {
      if (e.slotId !== slotId) return;
      if (e.step === 'done' || e.step === 'failed') setDraining(false);
      setProgress((prev) => {
        const idx = STEP_INDEX.get(e.step);
        const reached = idx === undefined ? (e.step === 'done' ? STEPS.length : (prev?.reached ?? 0)) : Math.max(idx, prev?.reached ?? 0);
        return {
          step: e.step,
          reached,
          transactionId: e.transactionId ?? prev?.transactionId,
          // segment counts come with the installing steps; later steps keep the last ones
          done: e.done ?? prev?.done,
          total: e.total ?? prev?.total,
          ...(e.resultCode !== undefined ? { resultCode: e.resultCode } : {}),
        };
      });
      if (e.step !== last && e.step !== 'done' && e.step !== 'failed') {
        last = e.step;
        const label = STEPS.find(([s]) => s === e.step)?.[1];
        if (label) announce(`Download: ${label.toLowerCase()}…`);
      }
    });
  }, [slotId, listening]);
  return [progress, setProgress];
}

/**
 * The progress bar and the list of steps.
 * @param {{ id: string, progress: Progress | null, finished?: number | null }} p finished: the ResultCode once the call returned
 */
export function DownloadProgress({ id, progress, finished }) {
  const ok = finished === ResultCode.RESULT_OK;
  const value = finished === undefined || finished === null ? percent(progress) : ok ? 100 : percent(progress);
  const segments = progress?.total ? `${progress.done ?? 0} of ${progress.total} segments` : '';
  const now =
    finished !== undefined && finished !== null
      ? ok
        ? 'Done'
        : `Stopped: ${describeResult(finished)}`
      : progress
        ? progress.step === 'installing'
          ? `Installing: ${segments}`
          : (STEPS.find(([s]) => s === progress.step)?.[1] ?? progress.step)
        : 'Starting…';
  const reached = finished === ResultCode.RESULT_OK ? STEPS.length : (progress?.reached ?? -1);
  return html`<div class="progress-box">
    <label for=${id}>Download progress</label>
    <progress id=${id} max="100" value=${value} aria-valuetext=${`${value}%: ${now}`}>${value}%</progress>
    <p class="progress-text" data-testid="progress-text">${now}</p>
    <ol class="steps" aria-label="Download steps">
      ${STEPS.map(([s, label], i) => {
        const state = i < reached || (i === reached && ok) ? 'done' : i === reached && !finished ? 'current' : finished && i === reached && !ok ? 'failed' : 'todo';
        const mark = state === 'done' ? '✓' : state === 'current' ? '→' : state === 'failed' ? '✗' : '○';
        const word = state === 'done' ? 'done' : state === 'current' ? 'in progress' : state === 'failed' ? 'failed' : 'pending';
        return html`<li class=${`step ${state}`} data-step=${s}>
          <span aria-hidden="true">${mark} </span>${label}${s === 'installing' && segments ? ` (${segments})` : ''}
          <span class="sr-only"> — ${word}</span>
        </li>`;
      })}
    </ol>
  </div>`;
}

/**
 * @typedef {{ slotId: number, ports: number }} SlotInfo
 * @param {{ slot: SlotInfo, port: number, onInstalled: () => void }} p
 */
export function DownloadPanel({ slot, port, onInstalled }) {
  const sid = `slot${slot.slotId}`;
  const [ac, setAc] = useState('');
  const [phase, setPhase] = useState(/** @type {'edit' | 'previewing' | 'preview' | 'downloading' | 'finished'} */ ('edit'));
  const [meta, setMeta] = useState(/** @type {any} */ (null));
  const [consent, setConsent] = useState(false);
  const [enableAfter, setEnableAfter] = useState(false);
  const [finished, setFinished] = useState(/** @type {number | null} */ (null));
  const [qrBusy, setQrBusy] = useState(false);
  const [scanning, setScanning] = useState(false);
  const [discovered, setDiscovered] = useState(/** @type {any[] | null} */ (null));
  const [discovering, setDiscovering] = useState(false);
  const [progress, setProgress] = useDownloadProgress(slot.slotId, phase === 'downloading');
  const [cancelling, setCancelling] = useState(false);
  /** @type {{ current: HTMLInputElement | null }} */
  const ccRef = useRef(null);
  /** @type {{ current: HTMLInputElement | null }} */
  const cc2Ref = useRef(null);
  /** @type {{ current: HTMLInputElement | null }} */
  const acRef = useRef(null);
  /** @type {{ current: HTMLElement | null }} */
  const previewRef = useRef(null);
  /** @type {{ current: HTMLElement | null }} */
  const resultRef = useRef(null);

  const confirmationCode = () => {
    const v = (cc2Ref.current?.value || ccRef.current?.value || '').trim();
    return v === '' ? undefined : v;
  };
  const clearCodes = () => {
    if (ccRef.current) ccRef.current.value = '';
    if (cc2Ref.current) cc2Ref.current.value = '';
  };
  const profile = () => {
    const cc = confirmationCode();
    return cc === undefined ? { activationCode: ac.trim() } : { activationCode: ac.trim(), confirmationCode: cc };
  };
  const reset = () => {
    clearCodes();
    setPhase('edit');
    setMeta(null);
    setConsent(false);
    setFinished(null);
    setProgress(null);
    setCancelling(false);
  };

  /** A camera scan succeeded: its dialog gives the focus to the activation code. */
  const scanned = useRef(false);
  /** Focus the activation code field once the form is enabled again. */
  const focusAcNext = useRef(false);
  useEffect(() => {
    if (phase === 'preview') previewRef.current?.focus();
    if (phase === 'finished') resultRef.current?.focus();
    if (phase === 'edit' && focusAcNext.current) {
      focusAcNext.current = false;
      acRef.current?.focus();
    }
  }, [phase]);

  /** @param {string} text @param {string} source */
  const takeCode = (text, source) => {
    const t = text.trim();
    const smdp = smdpOf(t);
    if (!smdp) {
      announceError(`${source} does not hold an activation code (LPA:1$<SM-DP+ address>$<matching ID>).`);
      return;
    }
    setAc(t);
    reset();
    clearError();
    announce(`${source}: activation code for the SM-DP+ ${smdp}. Preview the profile next.`);
    setTimeout(() => acRef.current?.focus(), 0); // after a closing dialog has given focus back
  };

  /** @param {Event} e */
  const onFile = async (e) => {
    const input = /** @type {HTMLInputElement} */ (e.currentTarget);
    const file = input.files?.[0];
    if (!file) return;
    setQrBusy(true);
    try {
      takeCode(await decodeQrFile(file), `The QR code of ${file.name}`);
    } catch (x) {
      announceError(errorText(x));
    } finally {
      setQrBusy(false);
      input.value = '';
    }
  };

  /** @param {Event} e */
  const onPreview = async (e) => {
    e.preventDefault();
    clearError();
    if (!smdpOf(ac)) {
      announceError('Enter an activation code first (LPA:1$<SM-DP+ address>$<matching ID>), or read one from a QR code.');
      acRef.current?.focus();
      return;
    }
    setPhase('previewing');
    announce('Asking the SM-DP+ for the profile’s details…');
    try {
      const r = await call('getDownloadableProfileMetadata', slot.slotId, port, profile(), true);
      if (r.responseResult !== ResultCode.RESULT_OK && r.responseResult !== ResultCode.RESULT_SOLVABLE_ERRORS) {
        setPhase('edit');
        announceError(`The profile cannot be previewed: ${describeResult(r.responseResult)}.`);
        return;
      }
      setMeta(r);
      setConsent(false);
      setPhase('preview');
      announce(`Profile ${r.profileName || r.iccid} from ${r.serviceProviderName || 'an unnamed provider'}: check the details, then download.`);
    } catch (x) {
      setPhase('edit');
      announceError(`The profile cannot be previewed: ${errorText(x)}`);
    }
  };

  const needsCode = !!meta && (meta.solvableErrors & SolvableErrors.SOLVABLE_ERROR_NEED_CONFIRMATION_CODE) !== 0;
  const needsConsent = !!meta && ((meta.solvableErrors & SolvableErrors.SOLVABLE_ERROR_NEED_POLICY_RULE) !== 0 || meta.pprFlag === true);

  /** @param {Event} e */
  const onDownload = async (e) => {
    e.preventDefault();
    clearError();
    if (needsCode && confirmationCode() === undefined) {
      announceError('This profile needs the confirmation code your operator gave you.');
      cc2Ref.current?.focus();
      return;
    }
    if (needsConsent && !consent) {
      announceError('Consent to the profile policy rules is needed to install this profile.');
      return;
    }
    const prof = profile();
    setProgress(null);
    setFinished(null);
    setPhase('downloading');
    announce('Download started.');
    let code = ResultCode.RESULT_SGP_22_OTHER;
    try {
      const r = await call('downloadProfile', slot.slotId, port, prof, {
        switchAfterDownload: enableAfter,
        forceDisableProfile: true,
        isPprAllowed: needsConsent ? consent : false,
      });
      code = r.responseResult;
    } catch (x) {
      announceError(`The download failed: ${errorText(x)}`);
    }
    clearCodes();
    setFinished(code);
    setPhase('finished');
    if (code === ResultCode.RESULT_OK) {
      announce(`Profile ${meta?.profileName || meta?.iccid || ''} installed${enableAfter ? ' and enabled' : ''}.`);
      setAc('');
      onInstalled();
    } else {
      announceError(`The profile was not installed: ${describeResult(code)}.`);
    }
  };

  const onCancel = async () => {
    const tid = progress?.transactionId;
    if (!tid) return;
    setCancelling(true);
    announce('Cancelling the download…');
    try {
      const r = await call('cancelSession', slot.slotId, tid, CancelReason.CANCEL_REASON_END_USER_REJECTION);
      announce(r === ResultCode.RESULT_OK ? 'Download cancelled.' : `Cancel: ${describeResult(r)}.`);
    } catch (x) {
      announceError(`The download could not be cancelled: ${errorText(x)}`);
    }
  };

  const onDiscover = async () => {
    setDiscovering(true);
    clearError();
    announce('Looking for profiles offered to this eUICC…');
    try {
      const r = await call('getDownloadableProfiles', slot.slotId, port, true);
      if (r.responseResult !== ResultCode.RESULT_OK) announceError(`Discovery: ${describeResult(r.responseResult)}.`);
      setDiscovered(r.downloadableProfiles ?? []);
      announce(`${(r.downloadableProfiles ?? []).length} profile(s) offered to this eUICC.`);
    } catch (x) {
      announceError(`Discovery failed: ${errorText(x)}`);
    } finally {
      setDiscovering(false);
    }
  };

  const busy = phase === 'previewing' || phase === 'downloading';
  return html`<section class="panel" aria-labelledby=${`${sid}-dl-h`}>
    <h3 id=${`${sid}-dl-h`}>Add a profile</h3>
    <form class="grid-form" onSubmit=${onPreview} aria-describedby=${`${sid}-dl-help`}>
      <fieldset disabled=${busy || phase === 'preview'}>
        <legend class="sr-only">Activation code</legend>
        <p id=${`${sid}-dl-help`} class="help">Paste the activation code your operator gave you, or read it from a QR code.</p>
        <label for=${`${sid}-ac`}>Activation code</label>
        <input
          id=${`${sid}-ac`}
          ref=${acRef}
          type="text"
          name="activationCode"
          autocomplete="off"
          spellcheck="false"
          placeholder="LPA:1$smdp.example.com$MATCHING-ID"
          value=${ac}
          onInput=${(/** @type {Event} */ e) => setAc(/** @type {HTMLInputElement} */ (e.currentTarget).value)}
        />
        <label for=${`${sid}-qr`}>QR code image</label>
        <input id=${`${sid}-qr`} type="file" accept="image/*" onChange=${onFile} aria-describedby=${`${sid}-qr-help`} disabled=${qrBusy} />
        <p id=${`${sid}-qr-help`} class="help">The image is decoded in this browser; it is not uploaded.</p>
        ${cameraAvailable()
          ? html`<div class="row"><button type="button" onClick=${() => setScanning(true)}>Scan a QR code with the camera</button></div>`
          : null}
        <label for=${`${sid}-cc`}>Confirmation code (only if your operator gave you one)</label>
        <input id=${`${sid}-cc`} ref=${ccRef} type="password" name="confirmationCode" autocomplete="off" />
        <div class="row">
          <button type="submit" class="primary">${phase === 'previewing' ? 'Previewing…' : 'Preview profile'}</button>
          <button type="button" onClick=${onDiscover} disabled=${discovering}>
            ${discovering ? 'Looking…' : 'Find profiles offered to this eUICC'}
          </button>
        </div>
      </fieldset>
    </form>

    ${discovered && phase === 'edit'
      ? html`<div class="discovered">
          <h4>Offered to this eUICC</h4>
          ${discovered.length === 0
            ? html`<p>No profile is waiting for this eUICC on its default SM-DP+ or SM-DS.</p>`
            : html`<ul>
                ${discovered.map(
                  (/** @type {any} */ d, /** @type {number} */ i) =>
                    html`<li key=${i}>
                      ${d.carrierName || 'Profile'} from ${smdpOf(d.activationCode) ?? 'an SM-DP+'}
                      <button type="button" onClick=${() => takeCode(d.activationCode, 'Discovery')}
                        aria-label=${`Use the profile ${i + 1} from ${smdpOf(d.activationCode) ?? 'the SM-DP+'}`}>Use</button>
                    </li>`,
                )}
              </ul>`}
        </div>`
      : null}

    ${meta && (phase === 'preview' || phase === 'downloading' || phase === 'finished')
      ? html`<form class="preview" onSubmit=${onDownload}>
          <h4 tabindex="-1" ref=${previewRef}>Profile to install</h4>
          <dl class="facts">
            <dt>Service provider</dt><dd>${meta.serviceProviderName || '—'}</dd>
            <dt>Profile name</dt><dd>${meta.profileName || '—'}</dd>
            <dt>ICCID</dt><dd class="mono">${meta.iccid || '—'}</dd>
            <dt>Class</dt><dd>${profileClassText(meta.profileClass)}</dd>
            <dt>Policy rules</dt><dd>${policyRulesText(meta.pprType ?? 0)}</dd>
          </dl>
          ${phase === 'preview'
            ? html`
                ${needsCode
                  ? html`<div class="field">
                      <label for=${`${slot.slotId}-cc2`}>Confirmation code (required for this profile)</label>
                      <input id=${`${slot.slotId}-cc2`} ref=${cc2Ref} type="password" autocomplete="off" required data-autofocus="" />
                    </div>`
                  : null}
                ${needsConsent
                  ? html`<div class="field consent">
                      <p id=${`${sid}-ppr`}>
                        This profile comes with policy rules set by its operator: <strong>${policyRulesText(meta.pprType ?? 0)}</strong>.
                        Installing it means accepting them.
                      </p>
                      <input
                        id=${`${sid}-consent`}
                        type="checkbox"
                        checked=${consent}
                        required
                        aria-describedby=${`${sid}-ppr`}
                        onChange=${(/** @type {Event} */ e) => setConsent(/** @type {HTMLInputElement} */ (e.currentTarget).checked)}
                      />
                      <label for=${`${sid}-consent`}>I accept the profile policy rules</label>
                    </div>`
                  : null}
                <div class="field">
                  <input
                    id=${`${sid}-enable`}
                    type="checkbox"
                    checked=${enableAfter}
                    onChange=${(/** @type {Event} */ e) => setEnableAfter(/** @type {HTMLInputElement} */ (e.currentTarget).checked)}
                  />
                  <label for=${`${sid}-enable`}>Enable the profile after download (the enabled profile is disabled)</label>
                </div>
                <div class="row">
                  <button type="submit" class="primary">Download and install</button>
                  <button type="button" onClick=${() => { focusAcNext.current = true; reset(); announce('Download abandoned.'); }}>Back</button>
                </div>`
            : null}
        </form>`
      : null}

    ${phase === 'downloading' || phase === 'finished'
      ? html`<div class="download-run">
          <${DownloadProgress} id=${`${sid}-progress`} progress=${progress} finished=${phase === 'finished' ? finished : null} />
          ${phase === 'downloading'
            ? html`<button type="button" onClick=${onCancel} disabled=${!progress?.transactionId || cancelling}>
                ${cancelling ? 'Cancelling…' : 'Cancel download'}
              </button>`
            : html`<p tabindex="-1" ref=${resultRef} class=${finished === ResultCode.RESULT_OK ? 'ok' : 'bad'} data-testid="download-result">
                  ${finished === ResultCode.RESULT_OK ? '✓ Profile installed.' : `✗ Not installed: ${describeResult(finished ?? -999)}.`}
                </p>
                <button type="button" onClick=${() => { focusAcNext.current = true; reset(); }}>Add another profile</button>`}
        </div>`
      : null}

    ${scanning
      ? html`<${CameraDialog}
          onClose=${() => setScanning(false)}
          onCode=${(/** @type {string} */ t) => {
            scanned.current = true;
            setScanning(false);
            takeCode(t, 'The scanned QR code');
          }}
          focusOnClose=${() => {
            const done = scanned.current;
            scanned.current = false;
            return done ? acRef.current : null;
          }}
        />`
      : null}
  </section>`;
}

/** @param {{ onClose: () => void, onCode: (text: string) => void, focusOnClose: () => HTMLElement | null }} p */
function CameraDialog({ onClose, onCode, focusOnClose }) {
  /** @type {{ current: HTMLVideoElement | null }} */
  const video = useRef(null);
  const [state, setState] = useState('Starting the camera…');
  useEffect(() => {
    const ac = new AbortController();
    const v = video.current;
    if (!v) return;
    scanWithCamera(v, ac.signal).then(
      (t) => onCode(t),
      (e) => {
        if (!ac.signal.aborted) setState(errorText(e));
      },
    );
    setState('Hold the QR code in front of the camera.');
    return () => ac.abort();
  }, []);
  return html`<${Dialog} title="Scan a QR code" onClose=${onClose} focusOnClose=${focusOnClose}>
    <video ref=${video} class="camera" aria-label="Camera preview" muted playsinline></video>
    <p role="status">${state}</p>
    <div class="buttons"><button type="button" onClick=${onClose} data-autofocus="">Stop scanning</button></div>
  <//>`;
}
