import { createAccessPasses } from '../../auth/access-passes.ts';
import { deriveKey } from '../../crypto/derived-keys.ts';
import type { IdpConfig } from '../../config/index.ts';
import type { Storage } from '../../store/index.ts';
import { CliError } from '../errors.ts';
import type { Output } from '../output.ts';
import { findUser } from './user.ts';

/** How long a pass may live: long enough for a newcomer's first day, short enough to be no standing credential. */
const TTL_LIMITS = { minSeconds: 5 * 60, maxSeconds: 7 * 24 * 60 * 60 };
const UNIT_SECONDS: Readonly<Record<string, number>> = { m: 60, h: 60 * 60, d: 24 * 60 * 60 };

/** `--ttl` as seconds: a whole number of minutes, hours or days (`90m`, `8h`, `2d`), 5 minutes to 7 days. */
export function parseTtl(ttl: string): number {
  const match = /^(\d{1,4})([mhd])$/.exec(ttl);
  if (!match) throw new CliError('invalid_input', `--ttl must be minutes, hours or days such as 90m, 8h or 2d, got "${ttl}"`);
  const seconds = Number(match[1]) * (UNIT_SECONDS[match[2] as string] as number);
  if (seconds < TTL_LIMITS.minSeconds || seconds > TTL_LIMITS.maxSeconds) {
    throw new CliError('invalid_input', `--ttl must be from 5m to 7d, got "${ttl}"`);
  }
  return seconds;
}

/**
 * Issues a temporary access pass (`stepup user access-pass`): the one way, by default, for an
 * employee without a second factor to add their first in self-service. The pass is printed once
 * and stored only as a keyed hash; an earlier open pass of the same user stops working.
 */
export async function issueAccessPass(
  deps: { storage: Pick<Storage, 'users' | 'accessPasses' | 'audit'>; config: Pick<IdpConfig, 'secretKey' | 'factorLockout'> },
  input: { username: string; ttl: string | undefined },
  out: Output,
): Promise<{ username: string; userId: string; accessPass: string; expiresAt: string }> {
  const ttlSeconds = parseTtl(input.ttl ?? '8h');
  const user = await findUser(deps.storage, input.username);
  if (user.status !== 'active') throw new CliError('invalid_input', `user ${user.username} is locked; unlock them first (stepup user unlock)`);
  const passes = createAccessPasses({
    passes: deps.storage.accessPasses,
    audit: deps.storage.audit,
    key: deriveKey(deps.config.secretKey, 'access-pass'),
    maxFailures: deps.config.factorLockout.maxFailures,
    now: Date.now,
  });
  const { pass, expiresAt } = await passes.issue({ userId: user.id, username: user.username, ttlSeconds, context: { actor: 'cli' } });
  out.line(`Temporary access pass for ${user.username}: ${pass}`);
  out.line(`It works once, until ${expiresAt.toISOString()}, in self-service to add a first 2-factor device. It is not shown again.`);
  return { username: user.username, userId: user.id, accessPass: pass, expiresAt: expiresAt.toISOString() };
}
