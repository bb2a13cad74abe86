// @ts-check
/**
 * Shared pieces of the dashboard: htm bound to Preact, the live regions (status messages announced to
 * screen readers), modal dialogs with focus management, and the names of the API's codes.
 */
import { h } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import htm from 'htm';
import { OsuStatus, PolicyRules, ProfileClass, ProfileState, ResultCode } from '/enums.js';

export const html = htm.bind(h);

// ------------------------------------------------------------------------------------------ live regions

/** @type {((msg: string) => void) | undefined} */
let setPolite;
/** @type {((msg: string) => void) | undefined} */
let setAssertive;

/**
 * Say something in the status line (role=status, polite). The same text twice is announced twice.
 * @param {string} msg
 */
export function announce(msg) {
  setPolite?.('');
  setTimeout(() => setPolite?.(msg), 30);
}

/**
 * Report a failure (role=alert, assertive).
 * @param {string} msg
 */
export function announceError(msg) {
  setAssertive?.('');
  setTimeout(() => setAssertive?.(msg), 30);
}

export function clearError() {
  setAssertive?.('');
}

/** The two live regions; rendered once, at the top of the page. */
export function LiveRegions() {
  const [polite, sp] = useState('');
  const [assertive, sa] = useState('');
  useEffect(() => {
    setPolite = sp;
    setAssertive = sa;
    return () => {
      setPolite = undefined;
      setAssertive = undefined;
    };
  }, []);
  return html`<div class="live">
    <p id="status" role="status" aria-live="polite" class="status-line">${polite}</p>
    <p id="alert" role="alert" aria-live="assertive" class=${assertive ? 'alert-line' : 'alert-line empty'}>
      ${assertive ? html`<span aria-hidden="true">⚠ </span>` : null}${assertive}
      ${assertive ? html` <button type="button" class="link" onClick=${() => sa('')}>Dismiss</button>` : null}
    </p>
  </div>`;
}

// ------------------------------------------------------------------------------------------ dialogs

let dialogSeq = 0;

/**
 * A modal dialog (native <dialog>): the rest of the page is inert while it is open, focus moves to the
 * element marked data-autofocus (else the first control), Escape closes it, and focus returns to the
 * control that opened it (or to `returnFocus` when that control is gone). `focusOnClose`, when it returns an
 * element, wins over both (the dialog's outcome decides where the user goes next).
 * @param {{ title: string, onClose: () => void, children?: any, returnFocus?: () => HTMLElement | null, focusOnClose?: () => HTMLElement | null, describedBy?: string }} p
 */
export function Dialog({ title, onClose, children, returnFocus, focusOnClose, describedBy }) {
  /** @type {{ current: HTMLDialogElement | null }} */
  const ref = useRef(null);
  const [id] = useState(() => `dialog-${++dialogSeq}`);
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    const opener = /** @type {HTMLElement | null} */ (document.activeElement);
    d.showModal();
    const first = /** @type {HTMLElement | null} */ (d.querySelector('[data-autofocus]') ?? d.querySelector('input, select, textarea, button'));
    first?.focus();
    return () => {
      if (d.open) d.close();
      // (Preact may run this cleanup a frame after the dialog left the page)
      const back = focusOnClose?.() ?? (opener && opener.isConnected && opener !== document.body ? opener : returnFocus?.());
      back?.focus();
    };
  }, []);
  return html`<dialog
    ref=${ref}
    class="dialog"
    aria-labelledby=${`${id}-title`}
    aria-describedby=${describedBy}
    onCancel=${(/** @type {Event} */ e) => {
      e.preventDefault();
      onClose();
    }}
  >
    <h2 id=${`${id}-title`}>${title}</h2>
    ${children}
  </dialog>`;
}

/**
 * A confirmation: a question, optional fields, Cancel and a confirm button. The confirm button receives the
 * form's data. For a destructive action (`danger`) focus starts on Cancel.
 * @param {{ title: string, confirmLabel: string, danger?: boolean, onConfirm: (data: FormData) => void, onClose: () => void, children?: any, returnFocus?: () => HTMLElement | null }} p
 */
export function ConfirmDialog({ title, confirmLabel, danger, onConfirm, onClose, children, returnFocus }) {
  return html`<${Dialog} title=${title} onClose=${onClose} returnFocus=${returnFocus}>
    <form
      class="dialog-form"
      onSubmit=${(/** @type {SubmitEvent} */ e) => {
        e.preventDefault();
        const form = /** @type {HTMLFormElement} */ (e.currentTarget);
        if (!form.reportValidity()) return;
        onConfirm(new FormData(form));
      }}
    >
      ${children}
      <div class="buttons">
        <button type="button" onClick=${onClose} data-autofocus=${danger ? '' : undefined}>Cancel</button>
        <button type="submit" class=${danger ? 'danger' : 'primary'}>${confirmLabel}</button>
      </div>
    </form>
  <//>`;
}

// ------------------------------------------------------------------------------------------ names

/**
 * @param {{ readonly [k: string]: number | string }} e
 * @returns {Map<number, string>}
 */
function reverse(e) {
  /** @type {Map<number, string>} */
  const m = new Map();
  for (const [k, v] of Object.entries(e)) if (typeof v === 'number') m.set(v, k);
  return m;
}
const RESULT_NAMES = reverse(ResultCode);
const OSU_NAMES = reverse(OsuStatus);

const RESULT_HINTS = new Map([
  [ResultCode.RESULT_MUST_DISABLE_PROFILE, 'another profile is enabled and must be disabled first'],
  [ResultCode.RESULT_SOLVABLE_ERRORS, 'more information is needed (confirmation code or policy rule consent)'],
  [ResultCode.RESULT_CONFIRMATION_CODE_INCORRECT, 'the confirmation code is not correct'],
  [ResultCode.RESULT_EXCEEDED_CONFIRMATION_CODE_TRY_LIMIT, 'too many wrong confirmation codes'],
  [ResultCode.RESULT_USER_CANCEL_DOWNLOAD, 'the download was cancelled'],
  [ResultCode.RESULT_NO_PROFILE_ON_SERVER, 'the SM-DP+ has no profile for this code'],
  [ResultCode.RESULT_ACTIVATION_CODE_INVALID, 'the activation code is not valid'],
  [ResultCode.RESULT_PROFILE_NON_DELETE, 'this profile cannot be deleted now (disable it first)'],
  [ResultCode.RESULT_OUT_OF_MEMORY, 'the eUICC has no room for this profile'],
  [ResultCode.RESULT_PPR_FORBIDDEN, 'the profile policy rules are not allowed on this device'],
  [ResultCode.RESULT_PPR_NOT_MATCH, 'the profile policy rules do not match this device'],
  [ResultCode.RESULT_SERVER_UNAVAILABLE, 'the server cannot be reached'],
  [ResultCode.RESULT_CAT_BUSY, 'the eUICC is busy'],
  [ResultCode.RESULT_NOTHING_TO_DELETE, 'nothing to delete'],
]);

/** @param {number} code a ResultCode */
export function resultName(code) {
  return RESULT_NAMES.get(code) ?? `result ${code}`;
}

/**
 * "OK" or "what went wrong (NAME, code)".
 * @param {number} code
 */
export function describeResult(code) {
  if (code === ResultCode.RESULT_OK) return 'OK';
  const hint = RESULT_HINTS.get(code);
  return hint ? `${hint} (${resultName(code)}, ${code})` : `${resultName(code)} (${code})`;
}

/** @param {number} s */
export function osuStatusText(s) {
  switch (s) {
    case OsuStatus.EUICC_UPGRADE_IN_PROGRESS:
      return 'Update in progress';
    case OsuStatus.EUICC_UPGRADE_FAILED:
      return 'Last update failed';
    case OsuStatus.EUICC_UPGRADE_SUCCESSFUL:
      return 'Updated successfully';
    case OsuStatus.EUICC_UPGRADE_ALREADY_LATEST:
      return 'Already the latest version';
    case OsuStatus.EUICC_UPGRADE_SERVICE_UNAVAILABLE:
      return 'No update service for this eUICC';
    default:
      return OSU_NAMES.get(s) ?? `status ${s}`;
  }
}

/** @param {number} c */
export function profileClassText(c) {
  switch (c) {
    case ProfileClass.PROFILE_CLASS_TEST:
      return 'Test';
    case ProfileClass.PROFILE_CLASS_PROVISIONING:
      return 'Provisioning';
    case ProfileClass.PROFILE_CLASS_OPERATIONAL:
      return 'Operational';
    default:
      return 'Unspecified';
  }
}

/** @param {number} s */
export function isEnabled(s) {
  return s === ProfileState.PROFILE_STATE_ENABLED;
}

/**
 * Policy rules (bit mask) → readable list.
 * @param {number} mask
 */
export function policyRulesText(mask) {
  const out = [];
  if (mask & PolicyRules.POLICY_RULE_DISABLE_NOT_ALLOWED) out.push('cannot be disabled (PPR1)');
  if (mask & PolicyRules.POLICY_RULE_DELETE_NOT_ALLOWED) out.push('cannot be deleted (PPR2)');
  if (mask & PolicyRules.POLICY_RULE_DISABLE_AND_DELETE) out.push('deleted when disabled');
  return out.length ? out.join('; ') : 'none';
}

/** @param {number | undefined | null} n bytes */
export function formatBytes(n) {
  if (typeof n !== 'number' || !Number.isFinite(n)) return 'unknown';
  if (n < 1024) return `${n} bytes`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB (${n.toLocaleString('en')} bytes)`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB (${n.toLocaleString('en')} bytes)`;
}

/**
 * The SM-DP+ address of an activation code (for messages: the matching ID is not shown).
 * @param {string} ac
 */
export function smdpOf(ac) {
  const m = /^(?:LPA:)?1\$([^$]+)\$/i.exec(ac.trim());
  return m ? m[1] : undefined;
}

/** @param {{ nickName?: string, profileName?: string, serviceProviderName?: string, iccid: string }} p */
export function profileLabel(p) {
  return p.nickName || p.profileName || p.serviceProviderName || p.iccid;
}

/** @param {unknown} e */
export function errorText(e) {
  if (e && typeof e === 'object' && 'code' in e && 'message' in e) return `${/** @type {any} */ (e).message} (code ${/** @type {any} */ (e).code})`;
  return e instanceof Error ? e.message : String(e);
}
