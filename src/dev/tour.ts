/**
 * The demo's tour: every capability of the `npm start` demo at a glance, each a link with one
 * line on what it proves. The signed-in page (`/app`) shows it in full at the top; the public
 * landing page a short version.
 */

interface TourItem {
  /** Element id of the item (`tour-…`), for tests and anchors. */
  id: string;
  title: string;
  href: string;
  /** What it proves, one line. */
  proves: string;
  /** The shorter line of the landing page. */
  short: string;
}

const items: readonly TourItem[] = [
  {
    id: 'tour-who',
    title: 'Who you are',
    href: '/app#who-you-are',
    proves: 'the app knows you only from the X-Tessera-* headers the gateway adds; it never sees a token or the IdP.',
    short: 'the app learns the user from the gateway’s headers, never from a token.',
  },
  {
    id: 'tour-public',
    title: 'The public page',
    href: '/',
    proves: 'opens without a session (no redirect to the IdP), and still knows who you are when you have one.',
    short: 'this page: no sign-in needed.',
  },
  {
    id: 'tour-admin',
    title: 'The admin page, with step-up',
    href: '/admin',
    proves: 'needs the admin role and MFA: a password sign-in is sent back for the one-time code (123456) and gets a new session.',
    short: 'role admin and MFA: a password sign-in is asked for a one-time code.',
  },
  {
    id: 'tour-sessions',
    title: 'Your sessions',
    href: '/app#your-sessions',
    proves: 'every browser you are signed in on, this one marked; ending one ends it at once, on every gateway instance.',
    short: 'every browser you are signed in on; end any of them.',
  },
  {
    id: 'tour-live',
    title: 'The live WebSocket',
    href: '/app#live-clock-section',
    proves: 'a clock pushed every second through the gateway, which checked the session at the handshake and closes the socket when it ends.',
    short: 'a WebSocket behind the session, closed when it ends.',
  },
  {
    id: 'tour-sign-out',
    title: 'Sign out',
    href: '/auth/logout',
    proves: 'ends the session in the store, not just the cookie: the page, the API and the WebSocket stop answering for it.',
    short: 'ends the session in the store, not just the cookie.',
  },
];

/** The tour section; `full` on the signed-in page, the short lines on the landing page. */
export function tourSection(variant: 'full' | 'short', signedIn: boolean): string {
  const entries = items.map((item) => {
    // Sign out is a POST (the gateway refuses a cross-site one); signed out, it is only named.
    const title = item.id !== 'tour-sign-out' ? `<a href="${item.href}">${item.title}</a>`
      : signedIn ? `<form method="post" action="/auth/logout"><button type="submit" class="secondary" id="tour-sign-out-button">${item.title}</button></form>`
        : `<strong>${item.title}</strong>`;
    return `<li id="${item.id}">${title} — <span class="muted">${variant === 'full' ? item.proves : item.short}</span></li>`;
  }).join('\n');
  const intro = variant === 'full'
    ? 'Each part of this demo, and what it proves.'
    : signedIn ? 'What this demo shows.' : 'What this demo shows, once you sign in.';
  return `<section id="tour" class="tour" aria-labelledby="tour-title"><h2 id="tour-title">Tour</h2>
<p class="muted">${intro}</p>
<ol>
${entries}
</ol></section>`;
}
