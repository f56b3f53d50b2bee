import { hash, verify } from '@node-rs/argon2';

import type { Argon2Params } from '../config/index.ts';

const ARGON2ID = 2;

/**
 * argon2id password hashing (OWASP Password Storage Cheat Sheet: m=19456 KiB, t=2, p=1 at the
 * least). @node-rs/argon2 hashes on libuv's thread pool, so hashing never blocks the event loop.
 */
export async function hashPassword(password: string, params: Argon2Params): Promise<string> {
  // 2 is `Algorithm.Argon2id`, a const enum that erasable-syntax TypeScript cannot import.
  return hash(password, { algorithm: ARGON2ID, ...params });
}

/** Whether `password` matches `passwordHash`; false (never a throw) for a malformed hash. */
export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await verify(passwordHash, password);
  } catch {
    return false;
  }
}

/**
 * Whether a stored hash was made with other parameters than today's (or another algorithm), so
 * it should be replaced after the next successful login. Reads the PHC string's
 * `$argon2id$v=19$m=…,t=…,p=…$` header.
 */
export function needsRehash(passwordHash: string, params: Argon2Params): boolean {
  const match = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$/.exec(passwordHash);
  if (!match) return true;
  const [, m, t, p] = match.map(Number);
  return m !== params.memoryCost || t !== params.timeCost || p !== params.parallelism;
}
