/**
 * The dev IdP's user-facing steps (oidc-provider "interactions"): the password form, the
 * one-time-code step for `acr_values=mfa`, and automatic consent for the registered clients.
 *
 * Routes (outside the provider's mount): `GET /interaction/:uid`, `POST /interaction/:uid/login`,
 * `POST /interaction/:uid/otp`, `POST /interaction/:uid/abort`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Interaction as InteractionDetails, Provider } from 'oidc-provider';
import { ACR_MFA, ACR_PASSWORD, DEV_OTP_CODE } from './constants.js';
import { escapeHtml } from '../lib/html.js';
import { errorBlock, page } from './html.js';
import { readForm, redirect, sendHtml } from './respond.js';
import type { UserDirectory } from './users.js';


/** Set on an interaction after the password step while the one-time code is outstanding. */
interface PendingMfa {
  accountId: string;
  amr: string[];
}
const PENDING = 'tessera_pending_mfa';

export function requestsMfa(acrValues: string | undefined): boolean {
  return (acrValues ?? '').split(' ').includes(ACR_MFA);
}

/** An authorization request parameter of the interaction (oidc-provider types them as `unknown`). */
function param(details: InteractionDetails, name: string): string | undefined {
  const value = details.params[name];
  return typeof value === 'string' ? value : undefined;
}

export function createInteractionRoutes(provider: Provider, users: UserDirectory) {
  async function clientName(details: InteractionDetails): Promise<string> {
    const clientId = param(details, 'client_id') ?? '';
    const client = await provider.Client.find(clientId).catch(() => undefined);
    return client?.clientName ?? clientId;
  }

  async function loginPage(res: ServerResponse, details: InteractionDetails, status: number, message?: string, username = '') {
    const name = await clientName(details);
    const prefill = username || param(details, 'login_hint') || '';
    sendHtml(res, status, page('Sign in', `<h1>Sign in</h1>
<p class="note">to continue to ${escapeHtml(name)}</p>
${errorBlock(message)}
<form method="post" action="/interaction/${escapeHtml(details.uid)}/login" autocomplete="off">
<label for="username">Username</label>
<input id="username" name="username" type="text" value="${escapeHtml(prefill)}" required autofocus>
<label for="password">Password</label>
<input id="password" name="password" type="password" required>
<button type="submit">Sign in</button>
</form>
${abortForm(details.uid)}`));
  }

  function otpPage(res: ServerResponse, details: InteractionDetails, status: number, message?: string) {
    sendHtml(res, status, page('Verification code', `<h1>Verification code</h1>
<p class="note">Enter the one-time code (the development code is ${DEV_OTP_CODE}).</p>
${errorBlock(message)}
<form method="post" action="/interaction/${escapeHtml(details.uid)}/otp" autocomplete="off">
<label for="otp">One-time code</label>
<input id="otp" name="otp" type="text" inputmode="numeric" required autofocus>
<button type="submit">Verify</button>
</form>
${abortForm(details.uid)}`));
  }

  async function setPending(details: InteractionDetails, pending: PendingMfa | undefined) {
    details.result = pending === undefined ? undefined : { [PENDING]: pending };
    await details.save(Math.max(details.exp - Math.floor(Date.now() / 1000), 1));
  }

  function pendingOf(details: InteractionDetails): PendingMfa | undefined {
    const pending = details.result?.[PENDING] as PendingMfa | undefined;
    return typeof pending?.accountId === 'string' ? pending : undefined;
  }

  async function finishLogin(req: IncomingMessage, res: ServerResponse, accountId: string, acr: string, amr: string[]) {
    await provider.interactionFinished(req, res, { login: { accountId, acr, amr, remember: true } }, { mergeWithLastSubmission: false });
  }

  /** Every registered client is first-party here: grant what was asked for, no consent page. */
  async function grantConsent(req: IncomingMessage, res: ServerResponse, details: InteractionDetails) {
    const accountId = details.session?.accountId;
    const clientId = param(details, 'client_id');
    if (accountId === undefined || clientId === undefined) {
      await provider.interactionFinished(req, res, { error: 'login_required', error_description: 'End-User authentication is required' });
      return;
    }
    const existing = details.grantId === undefined ? undefined : await provider.Grant.find(details.grantId);
    const grant = existing ?? new provider.Grant({ accountId, clientId });
    const missing = details.prompt.details as {
      missingOIDCScope?: string[];
      missingOIDCClaims?: string[];
      missingResourceScopes?: Record<string, string[]>;
    };
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  }

  async function show(req: IncomingMessage, res: ServerResponse, details: InteractionDetails) {
    const { prompt } = details;
    if (prompt.name === 'consent') {
      await grantConsent(req, res, details);
      return;
    }
    if (prompt.name !== 'login') {
      sendHtml(res, 400, page('Unsupported step', `<h1>Unsupported step</h1><p>The dev IdP cannot handle the "${escapeHtml(prompt.name)}" prompt.</p>`));
      return;
    }
    if (pendingOf(details)) {
      otpPage(res, details, 200);
      return;
    }
    // Step-up: the user is signed in with a password and only the MFA level is missing.
    const session = details.session;
    if (session !== undefined && prompt.reasons.length > 0 && prompt.reasons.every((r) => r === 'mfa_required')) {
      await setPending(details, { accountId: session.accountId, amr: session.amr ?? ['pwd'] });
      otpPage(res, details, 200);
      return;
    }
    await loginPage(res, details, 200);
  }

  async function login(req: IncomingMessage, res: ServerResponse, details: InteractionDetails) {
    const form = await readForm(req);
    const username = form.get('username') ?? '';
    const user = users.authenticate(username, form.get('password') ?? '');
    if (user === undefined) {
      await loginPage(res, details, 401, 'Invalid username or password.', username);
      return;
    }
    if (requestsMfa(param(details, 'acr_values'))) {
      await setPending(details, { accountId: user.sub, amr: ['pwd'] });
      otpPage(res, details, 200);
      return;
    }
    await finishLogin(req, res, user.sub, ACR_PASSWORD, ['pwd']);
  }

  async function otp(req: IncomingMessage, res: ServerResponse, details: InteractionDetails) {
    const form = await readForm(req);
    const pending = pendingOf(details);
    if (pending === undefined) {
      redirect(res, `/interaction/${encodeURIComponent(details.uid)}`);
      return;
    }
    if ((form.get('otp') ?? '').trim() !== DEV_OTP_CODE) {
      otpPage(res, details, 401, 'That code is not valid. Try again.');
      return;
    }
    const amr = [...new Set([...pending.amr, 'mfa'])];
    await finishLogin(req, res, pending.accountId, ACR_MFA, amr);
  }

  async function abort(req: IncomingMessage, res: ServerResponse) {
    await readForm(req).catch(() => undefined);
    await provider.interactionFinished(req, res, {
      error: 'access_denied',
      error_description: 'End-User aborted interaction',
    }, { mergeWithLastSubmission: false });
  }

  /** Handles `/interaction/...`; returns false when the path is not an interaction route. */
  return async function handleInteraction(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<boolean> {
    const match = /^\/interaction\/([A-Za-z0-9_-]{1,64})(?:\/(login|otp|abort))?$/.exec(pathname);
    if (!match) return false;
    const action = match[2];
    const method = req.method ?? 'GET';
    if ((action === undefined && method !== 'GET') || (action !== undefined && method !== 'POST')) {
      sendHtml(res, 405, page('Method not allowed', '<h1>Method not allowed</h1>'));
      return true;
    }
    let details: InteractionDetails;
    try {
      details = await provider.interactionDetails(req, res);
    } catch {
      sendHtml(res, 400, page('Sign-in expired', '<h1>Sign-in expired</h1><p>This sign-in request is unknown or has expired. Start again from the application.</p>'));
      return true;
    }
    if (details.uid !== match[1]) {
      sendHtml(res, 400, page('Sign-in mismatch', '<h1>Sign-in mismatch</h1><p>This page belongs to another sign-in request. Start again from the application.</p>'));
      return true;
    }
    if (action === 'login') await login(req, res, details);
    else if (action === 'otp') await otp(req, res, details);
    else if (action === 'abort') await abort(req, res);
    else await show(req, res, details);
    return true;
  };
}

function abortForm(uid: string): string {
  return `<form method="post" action="/interaction/${escapeHtml(uid)}/abort"><button type="submit" class="secondary">Cancel</button></form>`;
}
