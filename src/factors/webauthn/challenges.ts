import type { ShortLivedStore } from '../../store/short-lived/types.ts';

/** Which ceremony a challenge is for: adding a key in self-service, or logging in with one. */
export type CeremonyPurpose = 'registration' | 'authentication';

/** Why a response's challenge was not taken. */
export type ChallengeRefusal = 'expired' | 'invalid' | 'replayed';

/** The challenges of WebAuthn ceremonies in progress, bound to the session they were made for. */
export interface CeremonyChallenges {
  /**
   * Remembers `challenge` (base64url, as the options carry it) as the one open challenge of
   * `purpose` for `boundTo` (a login's flow id, a self-service session's id) and `userId`,
   * replacing any before it: a reloaded page's older ceremony then fails.
   */
  hold(input: { purpose: CeremonyPurpose; boundTo: string; userId: string; challenge: string }): Promise<void>;
  /**
   * Takes the challenge a response answers (`received`, from its `clientDataJSON`), once: it must
   * be the open challenge of this purpose, session and user, and is deleted on first use, so the
   * same response posted again is `replayed`. `expired`: no challenge is open here (none made, or
   * it ran out); `invalid`: another one is (another session's, or an older one).
   */
  take(input: { purpose: CeremonyPurpose; boundTo: string; userId: string; received: string }): Promise<{ ok: true } | { ok: false; reason: ChallengeRefusal }>;
}

/**
 * {@link CeremonyChallenges} in the short-lived store, shared by every node: a ceremony may begin
 * on one and end on another. Taking is decided by one SET NX on the challenge, so of two
 * responses racing with one challenge, on any nodes, one takes it.
 */
export function createCeremonyChallenges(deps: {
  store: ShortLivedStore;
  /** How long a challenge stays open, ms: the ceremony's timeout and time to post its answer. */
  ttlMs: number;
}): CeremonyChallenges {
  const { store, ttlMs } = deps;
  const openKey = (purpose: CeremonyPurpose, boundTo: string) => `webauthn:${purpose}:${boundTo}`;
  // Outlives the open challenge: while it is there, a second post of a response reads as a replay.
  const spentKey = (challenge: string) => `webauthn:spent:${challenge}`;

  return {
    async hold({ purpose, boundTo, userId, challenge }) {
      await store.set(openKey(purpose, boundTo), JSON.stringify({ challenge, userId }), ttlMs);
    },

    async take({ purpose, boundTo, userId, received }) {
      if (await store.get(spentKey(received))) return { ok: false, reason: 'replayed' };
      const json = await store.get(openKey(purpose, boundTo));
      const open = json ? (JSON.parse(json) as { challenge: string; userId: string }) : undefined;
      if (!open) return { ok: false, reason: 'expired' };
      if (open.challenge !== received || open.userId !== userId) return { ok: false, reason: 'invalid' };
      if (!(await store.setIfAbsent(spentKey(received), '1', ttlMs))) return { ok: false, reason: 'replayed' };
      await store.delete(openKey(purpose, boundTo));
      return { ok: true };
    },
  };
}
