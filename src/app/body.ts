/** Reads a small `application/x-www-form-urlencoded` body; undefined when absent, too large or of another type. */
export async function readForm(request: Request, maxBytes = 16 * 1024): Promise<URLSearchParams | undefined> {
  const type = request.headers.get('content-type') ?? '';
  if (!type.startsWith('application/x-www-form-urlencoded')) return undefined;
  const length = Number(request.headers.get('content-length') ?? '0');
  if (length > maxBytes) return undefined;
  const text = await request.text();
  if (Buffer.byteLength(text) > maxBytes) return undefined;
  return new URLSearchParams(text);
}
