/**
 * The demo's live clock: a WebSocket (`/live/clock`, behind the gateway's session check) that
 * sends the time every second, shown on the signed-in page. Signing out in another tab ends the
 * session, and the gateway closes the socket (`1008 session ended`): the clock stops.
 */
import type { Server } from 'node:http';
import { WebSocketServer } from 'ws';

export const liveClockPath = '/live/clock';
export const liveClockScriptPath = '/static/live-clock.js';

/** Serves the clock's socket on `server`. */
export function attachLiveClock(server: Server): WebSocketServer {
  const wss = new WebSocketServer({ server, path: liveClockPath });
  wss.on('connection', (socket, req) => {
    // The gateway sends only signed-in handshakes here; the app checks again, as an app should.
    if (!req.headers['x-tessera-sub']) return socket.close(1008, 'sign in first');
    const tick = () => socket.send(new Date().toISOString().slice(11, 19));
    tick();
    const timer = setInterval(tick, 1000);
    socket.on('close', () => clearInterval(timer));
  });
  server.on('close', () => wss.close());
  return wss;
}

/** The clock's part of the signed-in page. */
export function liveClockSection(): string {
  return `<section id="live-clock-section"><h2>Live clock over a WebSocket</h2>
<p>The time, pushed every second over a WebSocket through the gateway. Sign out in another tab: the gateway closes the socket and the clock stops.</p>
<p><output id="live-clock">…</output> <span id="live-clock-state" class="badge">connecting</span></p></section>
<script src="${liveClockScriptPath}"></script>`;
}

export const liveClockScript = `(() => {
  const clock = document.getElementById('live-clock');
  const state = document.getElementById('live-clock-state');
  const socket = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '${liveClockPath}');
  socket.onopen = () => { state.textContent = 'live'; state.className = 'badge ok'; };
  socket.onmessage = (event) => { clock.textContent = event.data; };
  socket.onclose = (event) => {
    state.dataset.code = String(event.code);
    state.textContent = event.code === 1008 ? 'stopped: session ended' : 'stopped (' + event.code + ')';
    state.className = 'badge bad';
  };
})();
`;
