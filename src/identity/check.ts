import { timingSafeEqual } from 'node:crypto';

/** Why the person the upstream vouched for is not taken as the employee. */
export type IdentityRefusal = 'acr' | 'claim_missing' | 'email_unverified' | 'no_attribute' | 'mismatch';

/**
 * Whether the person an upstream identity provider vouched for is this employee (issue 9),
 * from what the upstream said (its signature, issuer, audience, expiry and nonce already checked
 * by `identity/upstream.ts`):
 * - the ID token's `acr` is exactly one of `acrValues` (OIDC Core §2: the upstream may answer
 *   with a level other than the one asked for in `acr_values`, so it is checked here);
 * - `claim` is a non-empty string in the ID token, else in userinfo;
 * - a claim `email` counts only with `email_verified` true beside it (OIDC Core §5.1), or
 *   anyone could name any address at a provider that does not check them;
 * - its digest equals the digest of the employee's attribute, compared in constant time, so
 *   the time taken says nothing of how much of a value matched.
 */
export function checkUpstreamIdentity(options: {
  idToken: Readonly<Record<string, unknown>>;
  /** The upstream's userinfo, when it was fetched because the ID token lacks `claim`. */
  userinfo?: Readonly<Record<string, unknown>> | undefined;
  /** `IDENTITY_CLAIM`. */
  claim: string;
  /** `IDENTITY_ACR`. */
  acrValues: readonly string[];
  /** The digest of the employee's attribute (`IDENTITY_USER_ATTRIBUTE`); undefined when they have none. */
  expected: Buffer | undefined;
  /** Digests a claim value as the employee's attribute was digested. */
  digest(value: string): Buffer;
}): { verified: true } | { verified: false; reason: IdentityRefusal } {
  const { idToken, claim } = options;
  const acr = idToken.acr;
  if (typeof acr !== 'string' || !options.acrValues.includes(acr)) return { verified: false, reason: 'acr' };
  const source = claim in idToken ? idToken : (options.userinfo ?? {});
  const value = source[claim];
  if (typeof value !== 'string' || value === '') return { verified: false, reason: 'claim_missing' };
  if (claim === 'email' && source.email_verified !== true) return { verified: false, reason: 'email_unverified' };
  if (!options.expected) return { verified: false, reason: 'no_attribute' };
  const actual = options.digest(value);
  if (actual.length !== options.expected.length || !timingSafeEqual(actual, options.expected)) return { verified: false, reason: 'mismatch' };
  return { verified: true };
}
