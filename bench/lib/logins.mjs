// Logins under load: `count` scripted browsers sign in at once through the whole flow (redirect to
// the OP, the OP's form, the callback, the session), and the CPU the relying party's own process
// spent on them is read from /proc — the IdP's work is not counted.
import { performance } from 'node:perf_hooks';
import { Browser } from './login.mjs';
import { cpuSeconds, hasProc } from './cpu.mjs';

/** Signs `count` browsers in at once at `startUrl`; `pid` is the relying party's process. */
export async function concurrentLogins({ startUrl, pid, count, expect }) {
  const cpu0 = hasProc ? cpuSeconds([pid]) : 0;
  const started = performance.now();
  const outcomes = await Promise.all(Array.from({ length: count }, async (_, i) => {
    try {
      const page = await new Browser().signIn(startUrl, { user: i % 2 === 0 ? 'alice' : 'bob' });
      return page.status === 200 && page.text.startsWith(expect) ? undefined : `${page.status} ${page.text.slice(0, 80)}`;
    } catch (err) {
      return err.message;
    }
  }));
  const seconds = (performance.now() - started) / 1000;
  const errors = outcomes.filter(Boolean);
  return {
    count,
    errors: errors.length,
    firstError: errors[0],
    seconds,
    loginsPerSecond: count / seconds,
    cpuMsPerLogin: hasProc ? ((cpuSeconds([pid]) - cpu0) / count) * 1000 : Number.NaN,
  };
}
