/**
 * Moves this process's wall clock forward (`Date.now()` and `new Date()`), for tests of what
 * happens "later" — a sign-in older than a route's maxAge — without waiting. The dev IdP, the
 * gateway and the token checks all run in the test's process and read the same clock, so they
 * all see the same time; timers are not touched.
 *
 *   const restore = shiftClock(40_000);
 *   try { ... } finally { restore(); }
 */
export function shiftClock(offsetMs: number): () => void {
  const RealDate = globalThis.Date;
  class ShiftedDate extends RealDate {
    constructor(...args: unknown[]) {
      if (args.length === 0) super(RealDate.now() + offsetMs);
      else super(...(args as [string | number | Date]));
    }

    static override now(): number {
      return RealDate.now() + offsetMs;
    }

    /** Dates made before the shift are still dates. */
    static override [Symbol.hasInstance](value: unknown): boolean {
      return value instanceof RealDate;
    }
  }
  globalThis.Date = ShiftedDate as DateConstructor;
  return () => {
    globalThis.Date = RealDate;
  };
}
