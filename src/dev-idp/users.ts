/**
 * The dev IdP's demo users: built in (alice, bob) or read from a JSON file that replaces them.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { TesseraError } from '../errors.js';

export interface DevUser {
  username: string;
  password: string;
  /** Stable subject identifier; defaults to the username. */
  sub: string;
  roles: string[];
  email?: string | undefined;
  name?: string | undefined;
}

/** The users every fresh dev IdP knows: `alice`/`alice` (admin, user) and `bob`/`bob` (user). */
export const defaultUsers: readonly DevUser[] = Object.freeze([
  { username: 'alice', password: 'alice', sub: 'alice', roles: ['admin', 'user'], email: 'alice@example.com', name: 'Alice Example' },
  { username: 'bob', password: 'bob', sub: 'bob', roles: ['user'], email: 'bob@example.com', name: 'Bob Example' },
]);

const userSchema = z.object({
  username: z.string().min(1),
  password: z.string().min(1),
  sub: z.string().min(1).max(255).optional(),
  roles: z.array(z.string().min(1)).default([]),
  email: z.string().min(1).optional(),
  name: z.string().min(1).optional(),
});
const usersSchema = z.array(userSchema).min(1);

export interface UserDirectory {
  readonly users: readonly DevUser[];
  /** The user when the username exists and the password matches, else `undefined`. */
  authenticate(username: string, password: string): DevUser | undefined;
  findBySub(sub: string): DevUser | undefined;
}

export function createUserDirectory(users: readonly DevUser[]): UserDirectory {
  const byUsername = new Map(users.map((u) => [u.username, u]));
  const bySub = new Map(users.map((u) => [u.sub, u]));
  return {
    users,
    authenticate(username, password) {
      const user = byUsername.get(username);
      // Compare digests so the comparison time does not depend on the password length.
      const expected = digest(user?.password ?? '\u0000no-such-user');
      const ok = timingSafeEqual(expected, digest(password));
      return user !== undefined && ok ? user : undefined;
    },
    findBySub: (sub) => bySub.get(sub),
  };
}

/** Validates a parsed users file; throws `ERR_DEV_IDP_USERS` naming the problem. */
export function parseUsers(input: unknown, source = 'users'): DevUser[] {
  const result = usersSchema.safeParse(input);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${source}${i.path.map((p) => `[${JSON.stringify(p)}]`).join('')}: ${i.message}`);
    throw new TesseraError('ERR_DEV_IDP_USERS', `invalid dev IdP users: ${problems.join('; ')}`);
  }
  const users = result.data.map((u) => ({ ...u, sub: u.sub ?? u.username }));
  for (const key of ['username', 'sub'] as const) {
    const seen = new Set<string>();
    for (const user of users) {
      if (seen.has(user[key])) {
        throw new TesseraError('ERR_DEV_IDP_USERS', `invalid dev IdP users: ${source} has the ${key} ${JSON.stringify(user[key])} twice`);
      }
      seen.add(user[key]);
    }
  }
  return users;
}

export async function loadUsers(file: string | undefined): Promise<DevUser[]> {
  if (file === undefined) return defaultUsers.map((u) => ({ ...u, roles: [...u.roles] }));
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (cause) {
    throw new TesseraError('ERR_DEV_IDP_USERS', `cannot read the dev IdP users file ${file}: ${(cause as Error).message}`, { cause });
  }
  return parseUsers(parsed, file);
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
