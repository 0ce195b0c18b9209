/* global document, window */
// The browser never sees a token: it has an HttpOnly session cookie and asks the server.
const $ = (id) => document.getElementById(id);
// `Accept: application/json` makes Tessera answer 401 JSON instead of redirecting to the IdP.
const api = (path, init = {}) => fetch(path, { ...init, headers: { accept: 'application/json', ...init.headers } });

async function showSession() {
  const response = await api('/auth/session');
  const session = await response.json();
  $('who').textContent = session.authenticated ? `Signed in as ${session.sub} (acr ${session.acr ?? 'none'})` : 'You are not signed in.';
  $('sign-in').hidden = session.authenticated;
  $('sign-out').hidden = !session.authenticated;
}

async function call(path) {
  const response = await api(path);
  const body = await response.json();
  $('result').textContent = `${response.status} ${JSON.stringify(body)}`;
  const next = $('next');
  next.hidden = true;
  if (response.status === 401 && body.error === 'login_required') {
    // No session (or it ended): send the user to sign in, then back here.
    Object.assign(next, { hidden: false, href: body.login_url, textContent: 'Sign in to continue' });
  } else if (response.status === 401 && body.error === 'insufficient_user_authentication') {
    // Step-up (RFC 9470): this call needs a stronger sign-in (acr_values, e.g. mfa).
    Object.assign(next, { hidden: false, href: body.login_url, textContent: `Verify (${body.acr_values ?? 'sign in again'})` });
  }
}

$('call-me').onclick = () => call('/api/me');
$('call-admin').onclick = () => call('/api/admin');
$('sign-out').onclick = async () => {
  // Same-origin POST (the browser sends Origin); the JSON answer names where to go next.
  const response = await api('/auth/logout', { method: 'POST' });
  const { location } = await response.json();
  window.location.assign(location);
};

showSession();
