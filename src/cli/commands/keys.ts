import { KEYS_CHANGED_CHANNEL, RETIRED_KEY_SECONDS, rotateSigningKeys } from '../../provider/signing-keys.ts';
import type { Storage } from '../../store/index.ts';
import { CliError } from '../errors.ts';
import type { Output } from '../output.ts';

/** A published signing key as `stepup` shows it: public facts only. */
export interface KeySummary {
  kid: string;
  alg: string;
  /** `current` keys sign; `retired` ones stay published so tokens they signed still verify. */
  state: 'current' | 'retired';
  created_at: string;
}

export interface RotateKeysResult {
  /** The kids of the new current keys, one per algorithm. */
  kids: string[];
  /** Every key published after the rotation, current first. */
  published: KeySummary[];
  /** Whether running nodes were told: over Redis pub/sub, or the embedded server through its socket. */
  nodesNotified: boolean;
}

/**
 * Rotates the signing keys (`stepup keys rotate`): a new current key per algorithm, while the
 * old ones stay published for {@link RETIRED_KEY_SECONDS} so ID tokens they signed still
 * verify. Every running node is told on {@link KEYS_CHANGED_CHANNEL} and reloads its keys.
 *
 * Redis is checked before anything is written, so an unreachable Redis changes nothing rather
 * than leaving nodes signing with keys the others have already retired.
 */
export async function rotateKeys(
  deps: {
    storage: Pick<Storage, 'signingKeys' | 'audit' | 'shortLived'>;
    /** No server runs (the command holds an embedded `DATA_DIR`): it loads the new keys when it starts. */
    alone?: boolean;
  },
  out: Output,
): Promise<RotateKeysResult> {
  const { storage } = deps;
  // Redis reaches every node; a relay reaches the embedded server that holds DATA_DIR.
  const shared = storage.shortLived.kind !== 'memory';
  if (storage.shortLived.kind === 'redis' && !(await storage.shortLived.ping())) {
    throw new CliError('unavailable', 'cannot reach Redis (REDIS_URL), so running nodes could not be told of new keys; nothing was changed');
  }

  const kids = await rotateSigningKeys(storage.signingKeys);
  await storage.audit.record({ type: 'keys.rotated', actor: 'cli', details: { kids } });
  if (shared) await storage.shortLived.publish(KEYS_CHANGED_CHANNEL, JSON.stringify({ kids }));

  const published = (await storage.signingKeys.listPublished()).map((key): KeySummary => ({
    kid: key.kid,
    alg: key.alg,
    state: key.retiredAt === null ? 'current' : 'retired',
    created_at: new Date(key.createdAt).toISOString(),
  }));

  out.line('Rotated the signing keys. New current keys:');
  for (const key of kids.map((kid) => published.find((k) => k.kid === kid))) if (key) out.line(`  ${key.alg} ${key.kid}`);
  const retired = published.filter((key) => key.state === 'retired');
  if (retired.length) {
    out.line(`Still published for up to ${RETIRED_KEY_SECONDS / 3600} h, so tokens they signed verify:`);
    for (const key of retired) out.line(`  ${key.alg} ${key.kid}`);
  }
  if (storage.shortLived.kind === 'redis') out.line('Running nodes were told to reload their keys.');
  else if (shared) out.line('The running server was told to reload its keys.');
  else if (!deps.alone) out.notice('REDIS_URL is not set, so a running server was not told: restart it to sign with the new keys');
  return { kids, published, nodesNotified: shared };
}
