import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';

import type { ActContext, AuditLog, AuditType } from '../../store/audit.ts';
import { CredentialTakenError, type WebAuthnCredentialRecord, type WebAuthnCredentialRepository } from '../../store/webauthn-credentials.ts';
import type { CeremonyChallenges, CeremonyPurpose } from './challenges.ts';
import { decideSignCount, securityKeyAmr, type RelyingParty } from './rules.ts';

/**
 * How long the browser lets the user touch the key (W3C WebAuthn Level 3 §5.4 `timeout`): long
 * enough to find the key in a bag, short enough that a page left open holds no live challenge
 * for long. The challenge stays open a minute beyond it, for the answer's post.
 */
export const CEREMONY_TIMEOUT_MS = 120_000;

/**
 * The signature algorithms a key may register with: EdDSA (-8), ES256 (-7) and RS256 (-257), by
 * their COSE identifiers (RFC 9053 §2.1, §2.2; RFC 8812 §2), which every security key and passkey
 * offers. Named here rather than left to the library, whose default probes Node for ML-DSA (an
 * experimental WebCrypto feature, warned about on stderr); as numbers, as the library's
 * `COSEALG` would load the library with this module.
 */
const SUPPORTED_ALGORITHMS = [-8, -7, -257];

/** The audit events of a login with a security key, as every kind names them. */
export const SECURITY_KEY_LOGIN_EVENTS = {
  succeeded: 'login.second_factor.succeeded',
  failed: 'login.second_factor.failed',
  // A key is never locked: a signature cannot be guessed, so there is no count of wrong ones to keep.
  locked: 'factor.locked',
} as const satisfies Record<string, AuditType>;

/**
 * Why a ceremony's answer was refused, for the audit log: `malformed` (not a response at all),
 * the challenge's refusals (`expired`, `invalid`, `replayed`), `wrong_credential` (signed by a
 * key that is not the one asked for, or not this user's), `not_verified` (the library refused
 * the response: signature, origin, RP ID, user presence), `counter_regressed` (a cloned key or
 * an old response), and at registration `already_registered`.
 */
export type CeremonyFailure = 'malformed' | 'expired' | 'invalid' | 'replayed' | 'wrong_credential' | 'not_verified' | 'counter_regressed' | 'already_registered';

export interface SecurityKeysDeps {
  credentials: WebAuthnCredentialRepository;
  challenges: CeremonyChallenges;
  audit: AuditLog;
  relyingParty: RelyingParty;
  /** Shown by the browser and the authenticator as whom the key is registered with. */
  relyingPartyName: string;
  /** The clock, epoch ms. */
  now: () => number;
}

/** Registration and authentication with security keys and passkeys (W3C WebAuthn Level 3 §7). */
export interface SecurityKeys {
  /**
   * Options for `navigator.credentials.create()`, with a challenge held for `boundTo` (the
   * self-service session). The user's keys are excluded, so one key is not added twice.
   */
  registrationOptions(input: { userId: string; username: string; displayName: string; boundTo: string }): Promise<PublicKeyCredentialCreationOptionsJSON>;
  /** Checks a registration response (§7.1) for the challenge held for `boundTo`, and stores the key as `name`. */
  register(input: { userId: string; boundTo: string; name: string; response: string; context: ActContext }): Promise<{ ok: true; credential: WebAuthnCredentialRecord } | { ok: false; reason: CeremonyFailure }>;
  /**
   * Options for `navigator.credentials.get()` asking for the user's key `credentialId` (our id),
   * with a challenge held for `boundTo` (the login's flow); undefined when it is not theirs.
   */
  authenticationOptions(input: { userId: string; credentialId: string; boundTo: string }): Promise<PublicKeyCredentialRequestOptionsJSON | undefined>;
  /**
   * Checks an assertion (§7.2) made with the user's key `credentialId`, for the challenge held
   * for `boundTo`, and moves the key's counter. Audits success and failure; a counter that went
   * backwards is audited on its own (`factor.counter_regressed`), as a cloned key may be about.
   */
  authenticate(input: { userId: string; credentialId: string; boundTo: string; response: string; context: ActContext }): Promise<{ ok: true; amr: string[] } | { ok: false; reason: CeremonyFailure }>;
  /** Deletes the user's key `credentialId` and audits it; false when it is not theirs. */
  remove(input: { userId: string; credentialId: string; context: ActContext }): Promise<boolean>;
  /** Renames the user's key `credentialId` and audits `factor.renamed`; false when it is not theirs. */
  rename(input: { userId: string; credentialId: string; name: string; context: ActContext }): Promise<boolean>;
}

/**
 * {@link SecurityKeys} with @simplewebauthn/server doing the protocol's checks. The library is
 * imported at the first ceremony: with the X.509 and ASN.1 libraries it brings it is some 4 MB of
 * heap, which a node at rest does not need (issue 10's memory goal).
 */
export function createSecurityKeys(deps: SecurityKeysDeps): SecurityKeys {
  const { relyingParty } = deps;
  const now = () => new Date(deps.now());
  const record = (type: AuditType, userId: string, context: ActContext, details: Record<string, unknown>) =>
    deps.audit.record({ type, actor: context.actor, userId, clientId: context.clientId, ip: context.ip, requestId: context.requestId, details: { kind: 'security_key', ...details } });

  /** The response's JSON and the challenge it answers, taken from the session's open one. */
  async function takeChallenge<T extends { response: { clientDataJSON: string } }>(input: { purpose: CeremonyPurpose; userId: string; boundTo: string; response: string }) {
    const { decodeClientDataJSON } = await import('@simplewebauthn/server/helpers');
    let parsed: T;
    let received: string;
    try {
      parsed = JSON.parse(input.response) as T;
      received = decodeClientDataJSON(parsed.response.clientDataJSON).challenge;
    } catch {
      return { ok: false as const, reason: 'malformed' as const };
    }
    if (typeof received !== 'string') return { ok: false as const, reason: 'malformed' as const };
    const taken = await deps.challenges.take({ purpose: input.purpose, boundTo: input.boundTo, userId: input.userId, received });
    return taken.ok ? { ok: true as const, parsed, challenge: received } : taken;
  }

  return {
    async registrationOptions({ userId, username, displayName, boundTo }) {
      const { generateRegistrationOptions } = await import('@simplewebauthn/server');
      const existing = await deps.credentials.listForUser(userId);
      const options = await generateRegistrationOptions({
        rpName: deps.relyingPartyName,
        rpID: relyingParty.id,
        userName: username,
        userDisplayName: displayName,
        // The user's random id (a UUID, never the username): the same handle for each of their keys.
        userID: Buffer.from(userId.replace(/-/g, ''), 'hex'),
        timeout: CEREMONY_TIMEOUT_MS,
        attestationType: 'none',
        excludeCredentials: existing.map((credential) => ({ id: credential.credentialId, transports: credential.transports })),
        // We log in with the username first, so a discoverable credential is never needed; a
        // hardware key then spends none of its few resident slots. Passkeys are discoverable anyway.
        authenticatorSelection: { residentKey: 'discouraged', userVerification: 'preferred' },
        supportedAlgorithmIDs: SUPPORTED_ALGORITHMS,
      });
      await deps.challenges.hold({ purpose: 'registration', boundTo, userId, challenge: options.challenge });
      return options;
    },

    async register({ userId, boundTo, name, response, context }) {
      const taken = await takeChallenge<RegistrationResponseJSON>({ purpose: 'registration', userId, boundTo, response });
      if (!taken.ok) return taken;
      const { verifyRegistrationResponse } = await import('@simplewebauthn/server');
      const verification = await verifyRegistrationResponse({
        response: taken.parsed,
        expectedChallenge: taken.challenge,
        expectedOrigin: relyingParty.origin,
        expectedRPID: relyingParty.id,
        // Preferred, not required: a key without a PIN still proves possession (`hwk`).
        requireUserVerification: false,
        supportedAlgorithmIDs: SUPPORTED_ALGORITHMS,
      }).catch(() => undefined);
      if (!verification?.verified) return { ok: false, reason: 'not_verified' };
      const info = verification.registrationInfo;
      try {
        const credential = await deps.credentials.add({
          userId,
          credentialId: info.credential.id,
          publicKey: info.credential.publicKey,
          counter: info.credential.counter,
          transports: info.credential.transports ?? [],
          name,
          deviceType: info.credentialDeviceType,
          backedUp: info.credentialBackedUp,
          now: now(),
        });
        await record('factor.enrolled', userId, context, { factorId: credential.id, name, deviceType: credential.deviceType, userVerified: info.userVerified });
        return { ok: true, credential };
      } catch (error) {
        if (error instanceof CredentialTakenError) return { ok: false, reason: 'already_registered' };
        throw error;
      }
    },

    async authenticationOptions({ userId, credentialId, boundTo }) {
      const credential = await deps.credentials.findForUser(userId, credentialId);
      if (!credential) return undefined;
      const { generateAuthenticationOptions } = await import('@simplewebauthn/server');
      const options = await generateAuthenticationOptions({
        rpID: relyingParty.id,
        allowCredentials: [{ id: credential.credentialId, transports: credential.transports }],
        userVerification: 'preferred',
        timeout: CEREMONY_TIMEOUT_MS,
      });
      await deps.challenges.hold({ purpose: 'authentication', boundTo, userId, challenge: options.challenge });
      return options;
    },

    async authenticate({ userId, credentialId, boundTo, response, context }) {
      const refuse = async (reason: CeremonyFailure) => {
        await record(SECURITY_KEY_LOGIN_EVENTS.failed, userId, context, { factorId: credentialId, reason });
        return { ok: false as const, reason };
      };
      const taken = await takeChallenge<AuthenticationResponseJSON>({ purpose: 'authentication', userId, boundTo, response });
      if (!taken.ok) return refuse(taken.reason);
      const { verifyAuthenticationResponse } = await import('@simplewebauthn/server');
      const result = await deps.credentials.withCredentialLocked(credentialId, async (credential, accept) => {
        // Our id names the user's key; the response must be signed by that very credential.
        if (!credential || credential.userId !== userId || credential.credentialId !== taken.parsed.id) return { ok: false as const, reason: 'wrong_credential' as const };
        const verification = await verifyAuthenticationResponse({
          response: taken.parsed,
          expectedChallenge: taken.challenge,
          expectedOrigin: relyingParty.origin,
          expectedRPID: relyingParty.id,
          // The library compares counters before it checks the signature; ours runs after, so
          // only a response the key really signed is taken as a sign of a clone.
          credential: { id: credential.credentialId, publicKey: credential.publicKey, counter: 0 },
          requireUserVerification: false,
        }).catch(() => undefined);
        if (!verification?.verified) return { ok: false as const, reason: 'not_verified' as const };
        const { newCounter, userVerified, credentialDeviceType, credentialBackedUp } = verification.authenticationInfo;
        const counted = decideSignCount({ stored: credential.counter, received: newCounter });
        if (!counted.accepted) return { ok: false as const, reason: counted.reason, stored: credential.counter, received: newCounter };
        await accept({ counter: counted.counter, backedUp: credentialBackedUp, at: now() });
        return { ok: true as const, amr: securityKeyAmr({ userVerified, deviceType: credentialDeviceType }), userVerified };
      });
      if (!result.ok) {
        if (result.reason === 'counter_regressed') {
          await record('factor.counter_regressed', userId, context, { factorId: credentialId, storedCounter: result.stored, receivedCounter: result.received });
        }
        return refuse(result.reason);
      }
      await record(SECURITY_KEY_LOGIN_EVENTS.succeeded, userId, context, { factorId: credentialId, userVerified: result.userVerified });
      return { ok: true, amr: result.amr };
    },

    async remove({ userId, credentialId, context }) {
      const removed = await deps.credentials.remove(userId, credentialId);
      if (!removed) return false;
      await record('factor.removed', userId, context, { factorId: removed.id, name: removed.name });
      return true;
    },

    async rename({ userId, credentialId, name, context }) {
      const before = await deps.credentials.rename(userId, credentialId, name);
      if (!before) return false;
      await record('factor.renamed', userId, context, { factorId: before.id, name, nameWas: before.name });
      return true;
    },
  };
}
