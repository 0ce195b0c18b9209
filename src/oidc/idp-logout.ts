import { logger } from '../observability/log.js';

/**
 * Mosaic's logout API: `POST {api}/cis/v1/auth/logout` with the user's access token. Called
 * after the local session is gone; a failure is logged and never blocks the local logout.
 */
export async function logoutAtIdp(url: string, accessToken: string, timeoutMs = 3000): Promise<boolean> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${accessToken}` },
      signal: AbortSignal.timeout(timeoutMs),
    });
    await response.body?.cancel();
    if (!response.ok) {
      logger.warn('identity provider logout failed', { status: response.status });
      return false;
    }
    return true;
  } catch (err) {
    logger.warn('identity provider logout failed', { error: (err as Error).message });
    return false;
  }
}
