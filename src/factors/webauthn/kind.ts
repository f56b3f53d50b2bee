import type { WebAuthnCredentialRecord, WebAuthnCredentialRepository } from '../../store/webauthn-credentials.ts';
import type { FactorKind, SecondFactor } from '../factor.ts';
import { SECURITY_KEY_LOGIN_EVENTS, type SecurityKeys } from './security-keys.ts';

/**
 * Security keys and passkeys (WebAuthn) as a factor kind: choosing one shows the security key
 * page, whose script runs the browser's ceremony with the options `start` gives and posts the
 * assertion to `verify`. `amr` is what a device-bound key proves without user verification;
 * each accepted assertion says what it proved (`hwk` or `swk`, and `user`; see `rules.ts`).
 * Employees add, rename and delete their keys in self-service.
 */
export function createSecurityKeyKind(deps: { keys: SecurityKeys; credentials: Pick<WebAuthnCredentialRepository, 'listForUser'> }): FactorKind {
  const name = 'security_key';
  const toFactor = (credential: WebAuthnCredentialRecord): SecondFactor => ({
    id: credential.id,
    kind: name,
    name: credential.name,
    detail: null,
    addedAt: credential.createdAt,
    lastUsedAt: credential.lastUsedAt,
    // A key is never locked: a signature cannot be guessed.
    status: 'active',
    lockedUntil: null,
  });

  return {
    name,
    amr: ['hwk'],
    events: SECURITY_KEY_LOGIN_EVENTS,

    async listForUser(userId) {
      return (await deps.credentials.listForUser(userId)).map(toFactor);
    },

    async start({ userId, factor, flow }) {
      const options = await deps.keys.authenticationOptions({ userId, credentialId: factor.id, boundTo: flow.uid });
      return options ? { type: 'webauthn', options } : { type: 'refused', refusal: { ok: false, reason: 'not_found' } };
    },

    async verify({ userId, factorId, answer, flow, context }) {
      // A code or a challenge id is no answer to a key.
      if (answer.assertion === undefined) return { ok: false, reason: 'not_found' };
      const result = await deps.keys.authenticate({ userId, credentialId: factorId, boundTo: flow.uid, response: answer.assertion, context });
      // The audit event says what failed; the page only asks to try again.
      return result.ok ? { ok: true, amr: result.amr } : { ok: false, reason: 'not_verified' };
    },

    remove: ({ userId, factorId, context }) => deps.keys.remove({ userId, credentialId: factorId, context }),
    rename: ({ userId, factorId, name: newName, context }) => deps.keys.rename({ userId, credentialId: factorId, name: newName, context }),
  };
}
