import { KEYS_CHANGED_CHANNEL, RETIRED_KEY_SECONDS, rotateSigningKeys } from '../../crypto/signing-keys.ts';
import type { Storage } from '../../store/index.ts';
import { CliError } from '../errors.ts';
import type { Output } from '../output.ts';

/** A published signing key as `stepup` shows it: public facts only. */
export interface KeySummary {
  kid: string;
  alg: string;
  /** `current` keys sign; `next` ones are published and sign from `activates_at`; `retired` ones stay published so what they signed still verifies. */
  state: 'current' | 'next' | 'retired';
  created_at: string;
  activates_at: string;
}

export interface RotateKeysResult {
  /** The kids of the new keys, one per algorithm. */
  kids: string[];
  /** Every key published after the rotation: current, then next, then retired. */
  published: KeySummary[];
  /** Whether running nodes were told: over Redis pub/sub, or the embedded server through its socket. */
  nodesNotified: boolean;
}

/**
 * Rotates the signing keys (`stepup keys rotate`): a new key per algorithm, published at once
 * (JWKS, SAML metadata) and signing after `leadSeconds` (`SIGNING_KEY_LEAD_HOURS`); keys still
 * waiting from the last rotation sign from now on. Superseded keys stay published for
 * {@link RETIRED_KEY_SECONDS} so what they signed still verifies. Every running node is told on
 * {@link KEYS_CHANGED_CHANNEL} and reloads its keys; each also picks up a key's activation on
 * its periodic check.
 *
 * Redis is checked before anything is written, so an unreachable Redis changes nothing rather
 * than leaving nodes signing with keys the others have already retired.
 */
export async function rotateKeys(
  deps: {
    storage: Pick<Storage, 'signingKeys' | 'audit' | 'shortLived'>;
    /** How long new keys are published before they sign, seconds. */
    leadSeconds: number;
    /** The subject CN of the new RSA key's certificate: the SAML entityID's host. */
    certificateName: string;
    /** No server runs (the command holds an embedded `DATA_DIR`): it loads the new keys when it starts. */
    alone?: boolean;
  },
  out: Output,
): Promise<RotateKeysResult> {
  const { storage } = deps;
  // Redis reaches every node; a relay reaches the embedded server that holds DATA_DIR.
  const shared = storage.shortLived.kind !== 'memory';
  if (storage.shortLived.kind === 'redis' && !(await storage.shortLived.probe())) {
    throw new CliError('unavailable', 'cannot reach Redis (REDIS_URL), so running nodes could not be told of new keys; nothing was changed');
  }

  const kids = await rotateSigningKeys({
    keys: storage.signingKeys,
    leadSeconds: deps.leadSeconds,
    subject: { commonName: deps.certificateName, now: Date.now },
  });
  await storage.audit.record({ type: 'keys.rotated', actor: 'cli', details: { kids } });
  if (shared) await storage.shortLived.publish(KEYS_CHANGED_CHANNEL, JSON.stringify({ kids }));

  const published = (await storage.signingKeys.listPublished()).map((key): KeySummary => ({
    kid: key.kid,
    alg: key.alg,
    state: key.state,
    created_at: key.createdAt.toISOString(),
    activates_at: key.activatesAt.toISOString(),
  }));

  out.line('Rotated the signing keys. New keys, published now:');
  for (const key of kids.map((kid) => published.find((k) => k.kid === kid))) {
    if (key) out.line(`  ${key.alg} ${key.kid} ${key.state === 'current' ? 'signs now' : `signs from ${key.activates_at}`}`);
  }
  out.line('Signing now:');
  for (const key of published.filter((k) => k.state === 'current')) out.line(`  ${key.alg} ${key.kid}`);
  const retired = published.filter((key) => key.state === 'retired');
  if (retired.length) {
    out.line(`Still published for up to ${RETIRED_KEY_SECONDS / 3600} h, so what they signed verifies:`);
    for (const key of retired) out.line(`  ${key.alg} ${key.kid}`);
  }
  if (storage.shortLived.kind === 'redis') out.line('Running nodes were told to reload their keys.');
  else if (shared) out.line('The running server was told to reload its keys.');
  else if (!deps.alone) out.notice('REDIS_URL is not set, so a running server was not told: restart it to sign with the new keys');
  return { kids, published, nodesNotified: shared };
}
