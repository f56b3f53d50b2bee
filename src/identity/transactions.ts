import * as client from 'openid-client';

import type { ShortLivedStore } from '../store/short-lived/types.ts';
import type { UpstreamChecks } from './upstream.ts';

/**
 * How long a verification may take from the authorization request to its callback: logging in
 * with MitID, the app or a code display at hand, takes a minute or two; ten leave room.
 */
export const VERIFICATION_LIFETIME_SECONDS = 600;

/** Why a callback's `state` was not taken. */
export type TransactionRefusal = 'unknown_state' | 'replayed' | 'other_session' | 'expired';

/** One verification on its way through the upstream: whose, and the values the callback is checked with. */
interface OpenTransaction extends UpstreamChecks {
  sessionId: string;
  userId: string;
  /** Epoch seconds. */
  startedAt: number;
}

/** The verifications in progress, one per `state`, each bound to the portal session that began it. */
export interface VerificationTransactions {
  /** Begins one: a fresh `state`, `nonce` and PKCE verifier, remembered for `sessionId` and `userId`. */
  begin(input: { sessionId: string; userId: string }): Promise<UpstreamChecks>;
  /**
   * Takes the one a callback names by `state`, once. `unknown_state`: none (never begun, or long
   * gone); `other_session`: it belongs to another portal session or employee, and stays for
   * its own; `replayed`: it was taken before; `expired`: it began more than the lifetime ago.
   */
  take(input: { state: string; sessionId: string; userId: string }): Promise<{ ok: true; checks: UpstreamChecks } | { ok: false; reason: TransactionRefusal }>;
}

/**
 * {@link VerificationTransactions} in the short-lived store, shared by every node: the upstream
 * may send the browser back to any of them. Taking is decided by one SET NX on the state, so of
 * two callbacks racing with one state, on any nodes, one takes it. The age is measured on the
 * instance's clock; the store keeps an entry twice its lifetime, so a late callback reads as
 * `expired` rather than unknown.
 */
export function createVerificationTransactions(deps: {
  store: ShortLivedStore;
  /** Seconds from the authorization request to its callback: the time to log in at the upstream. */
  lifetimeSeconds: number;
  /** The clock, epoch ms. */
  now: () => number;
}): VerificationTransactions {
  const { store } = deps;
  const keep = deps.lifetimeSeconds * 2 * 1000;
  const key = (state: string) => `identity:verification:${state}`;
  const spentKey = (state: string) => `identity:verification:${state}:spent`;
  const nowSeconds = () => Math.floor(deps.now() / 1000);

  return {
    async begin({ sessionId, userId }) {
      const checks = { state: client.randomState(), nonce: client.randomNonce(), codeVerifier: client.randomPKCECodeVerifier() };
      const open: OpenTransaction = { ...checks, sessionId, userId, startedAt: nowSeconds() };
      await store.set(key(checks.state), JSON.stringify(open), keep);
      return checks;
    },

    async take({ state, sessionId, userId }) {
      // openid-client's random values are 32 bytes in base64url.
      if (!/^[\w-]{43}$/.test(state)) return { ok: false, reason: 'unknown_state' };
      const json = await store.get(key(state));
      if (!json) return { ok: false, reason: (await store.get(spentKey(state))) ? 'replayed' : 'unknown_state' };
      const open = JSON.parse(json) as OpenTransaction;
      if (open.sessionId !== sessionId || open.userId !== userId) return { ok: false, reason: 'other_session' };
      if (!(await store.setIfAbsent(spentKey(state), '1', keep))) return { ok: false, reason: 'replayed' };
      await store.delete(key(state));
      const age = nowSeconds() - open.startedAt;
      if (age < 0 || age > deps.lifetimeSeconds) return { ok: false, reason: 'expired' };
      return { ok: true, checks: { state: open.state, nonce: open.nonce, codeVerifier: open.codeVerifier } };
    },
  };
}
