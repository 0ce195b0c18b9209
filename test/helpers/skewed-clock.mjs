/**
 * Preloaded into a child process (`node --import <this file>`, e.g. through NODE_OPTIONS) to run
 * it with a wall clock `CLOCK_OFFSET_MS` milliseconds off (`Date.now()` and `new Date()`), as a
 * machine whose clock drifted: the same shift as `shiftClock` in `clock.ts`, for another process.
 */
const offsetMs = Number(process.env.CLOCK_OFFSET_MS ?? '0');
if (!Number.isFinite(offsetMs)) throw new TypeError(`CLOCK_OFFSET_MS must be a number of milliseconds, got ${process.env.CLOCK_OFFSET_MS}`);
if (offsetMs !== 0) {
  const RealDate = globalThis.Date;
  class ShiftedDate extends RealDate {
    constructor(...args) {
      if (args.length === 0) super(RealDate.now() + offsetMs);
      else super(...args);
    }

    static now() {
      return RealDate.now() + offsetMs;
    }

    static [Symbol.hasInstance](value) {
      return value instanceof RealDate;
    }
  }
  globalThis.Date = ShiftedDate;
}
