/** Option checks shared by the verifiers; a wrong option is a programmer error (TypeError). */

export function requireOption(value: unknown, name: string): string {
  if (typeof value !== 'string' || value === '') throw new TypeError(`"${name}" option must be a non-empty string`);
  return value;
}

export function audienceOption(value: unknown): string | string[] | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string' && value !== '') return value;
  if (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string' && v !== '')) return [...(value as string[])];
  throw new TypeError('"audience" option must be a non-empty string or a non-empty array of strings');
}

export function positiveSecondsOption(value: unknown, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new TypeError(`"${name}" option must be a positive number of seconds`);
  }
  return value;
}
