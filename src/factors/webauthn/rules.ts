/**
 * The rules of security keys and passkeys, free of storage and ceremony: which relying party we
 * are, whether a signature counter may be accepted, and what an accepted assertion proves.
 */

/** The WebAuthn relying party the IdP is: the scope of its credentials and the origin it expects. */
export interface RelyingParty {
  /** The RP ID (WebAuthn Level 3 §5.1.2): a registrable domain, here the issuer's host name, no port. */
  id: string;
  /** The origin the browser must report in `clientDataJSON` (§7.1 step 9): the issuer's origin. */
  origin: string;
}

/**
 * The relying party of an IdP whose `ISSUER` is `issuer`. A path prefix (an IdP mounted under
 * `/idp`) is no part of either: credentials are scoped to the host, ceremonies to the origin.
 */
export function relyingPartyOf(issuer: string): RelyingParty {
  const url = new URL(issuer);
  return { id: url.hostname, origin: url.origin };
}

/**
 * Whether an assertion's signature counter may be accepted: WebAuthn Level 3 §7.2 ("Verifying an
 * Authentication Assertion", the `signCount` step) and §6.1.1. When either counter is non-zero,
 * the new one must be greater than the one stored; one that stays or goes backwards means two
 * copies of the key are signing (a cloned authenticator) or an old response is sent again, and
 * is refused. Both zero: an authenticator that keeps no counter (many passkeys), accepted.
 */
export function decideSignCount(options: {
  /** The counter stored from the last accepted assertion (or the registration). */
  stored: number;
  /** The counter in this assertion's authenticator data. */
  received: number;
}): { accepted: true; counter: number } | { accepted: false; reason: 'counter_regressed' } {
  const { stored, received } = options;
  if (stored === 0 && received === 0) return { accepted: true, counter: 0 };
  if (received > stored) return { accepted: true, counter: received };
  return { accepted: false, reason: 'counter_regressed' };
}

/**
 * What an accepted assertion proves, as RFC 8176 §2 `amr` values. A key that stays in its
 * authenticator is a hardware-secured key (`hwk`); a synced passkey's key is copied between
 * devices, so it is a software-secured key (`swk`). `user` is added when the authenticator
 * verified its user (PIN or biometric; the UV flag, WebAuthn Level 3 §6.1), as issue 9 asks:
 * RFC 8176 names `user` for a user presence test, which every assertion makes, so we claim it
 * only for the stronger check.
 */
export function securityKeyAmr(options: { userVerified: boolean; deviceType: 'singleDevice' | 'multiDevice' }): string[] {
  return [options.deviceType === 'singleDevice' ? 'hwk' : 'swk', ...(options.userVerified ? ['user'] : [])];
}
