/**
 * The one error class of Tessera. `code` is a stable string (`ERR_<AREA>_<WHAT>`) that callers
 * switch on; `status` is the HTTP status the error maps to where one applies.
 */
export class TesseraError extends Error {
  readonly code: string;
  readonly status: number | undefined;

  constructor(code: string, message: string, options: { status?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TesseraError';
    this.code = code;
    this.status = options.status;
  }
}

export function isTesseraError(value: unknown, codePrefix = ''): value is TesseraError {
  return value instanceof TesseraError && value.code.startsWith(codePrefix);
}
