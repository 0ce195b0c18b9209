/**
 * Authentication context class (`acr`) requirements: which `acr_values` a login asks for and
 * whether the `acr` an ID token came back with satisfies them.
 *
 * acr values are opaque strings (compared exactly, case included), except for a small known
 * ladder, `pwd` < `mfa` (Mosaic: a password-only login answers `acr: "pwd"`, MFA `acr: "mfa"`).
 * A value satisfies a requirement when it is equal to it, or when both are on the ladder and the
 * value ranks at least as high. A list of values (as in `acr_values`) is met by a value that
 * satisfies any one of them.
 *
 * The configured `acrValues` is a floor: the `acr` login parameter may ask for more (step-up),
 * never for less. It is taken only when every value in it satisfies the floor; otherwise, and
 * when it is empty, absent, repeated or malformed, the floor is requested.
 */

/** Known values, weakest first. */
const ladder: readonly string[] = ['pwd', 'mfa'];

/** One value of the `acr` login parameter. */
const valuePattern = /^[A-Za-z0-9_.:-]{1,64}$/;

/** Bound on values in the login parameter: they end up in the transaction cookie. */
const maxValues = 8;

/** Whether `value` is as strong as `required`: equal, or ranked at least as high on the ladder. */
export function acrSatisfies(value: string, required: string): boolean {
  if (value === required) return true;
  const rank = ladder.indexOf(value);
  const requiredRank = ladder.indexOf(required);
  return rank >= 0 && requiredRank >= 0 && rank >= requiredRank;
}

/** Whether `value` meets a requirement list (any one of it); no requirement is always met. */
export function acrMeets(value: string | undefined, required: readonly string[] | undefined): boolean {
  if (required === undefined || required.length === 0) return true;
  return value !== undefined && required.some((r) => acrSatisfies(value, r));
}

/** The configured floor (`acrValues`, space-separated) as a list; `undefined` when none is set. */
export function acrFloor(configured: string | undefined): string[] | undefined {
  const values = (configured ?? '').split(/\s+/).filter((v) => v !== '');
  return values.length > 0 ? [...new Set(values)] : undefined;
}

/**
 * What a login requests as `acr_values`: the `acr` login parameter values (every occurrence of
 * the parameter, as `URLSearchParams.getAll` gives them) when they are one well-formed,
 * space-separated list whose every value satisfies the floor; otherwise the floor.
 */
export function requestedAcr(parameter: readonly string[], floor: readonly string[] | undefined): string[] | undefined {
  const fallback = floor === undefined || floor.length === 0 ? undefined : [...floor];
  if (parameter.length !== 1) return fallback; // absent, or repeated (ambiguous)
  const values = [...new Set(parameter[0]!.split(' ').filter((v) => v !== ''))];
  if (values.length === 0 || values.length > maxValues || !values.every((v) => valuePattern.test(v))) return fallback;
  return values.every((v) => acrMeets(v, floor)) ? values : fallback;
}
