import type { Logger } from 'pino';

import type { IdentityUpstream } from '../config/index.ts';
import type { ActContext, AuditLog } from '../store/audit.ts';
import type { User } from '../store/users.ts';
import type { UserAttributes } from './attributes.ts';
import { checkUpstreamIdentity, type IdentityRefusal } from './check.ts';
import type { TransactionRefusal, VerificationTransactions } from './transactions.ts';
import { UpstreamError, type UpstreamFailure, type UpstreamIdentityProvider } from './upstream.ts';

/**
 * Why a verification failed, as `identity.verification_failed` names it. Besides the transaction's
 * and the comparison's reasons: `cancelled`, the person stopped at the upstream (`access_denied`);
 * `upstream_error`, it answered with another error or something that did not verify;
 * `upstream_unavailable`, it could not be reached.
 */
export type VerificationFailure = TransactionRefusal | IdentityRefusal | UpstreamFailure | 'cancelled';

/** Verifying an employee's identity at the upstream provider, from the portal (issue 9). */
export interface IdentityVerification {
  /** `IDENTITY_VERIFICATION_SECONDS`: how long a success lets the portal change devices. */
  readonly holdSeconds: number;
  /** The upstream's authorization endpoint origin, for the verify page's CSP (its form's post is redirected there). */
  authorizationOrigin(): Promise<string | undefined>;
  /** Where to send the browser to verify; refused without an attribute to compare with, or without the upstream. */
  begin(input: { sessionId: string; user: User; context: ActContext }): Promise<{ ok: true; url: URL } | { ok: false; reason: VerificationFailure }>;
  /** Completes a verification from the callback's query; `at` is when it succeeded, epoch seconds. */
  finish(input: { sessionId: string; user: User; params: URLSearchParams; context: ActContext }): Promise<{ verified: true; at: number } | { verified: false; reason: VerificationFailure }>;
}

/** An OAuth error code fit for the log (RFC 6749 §4.1.2.1 allows only these characters); anything else is not repeated. */
const errorCode = (value: string | null) => (value && /^[\x20-\x21\x23-\x5b\x5d-\x7e]{1,64}$/.test(value) ? value : 'other');

/**
 * The verification: a transaction bound to the portal session, the upstream's answer, and the
 * comparison with the employee's attribute. Every outcome is audited, `identity.verified` or
 * `identity.verification_failed` with its reason; never a token, a code or a claim's value.
 */
export function createIdentityVerification(deps: {
  upstream: UpstreamIdentityProvider;
  transactions: VerificationTransactions;
  attributes: UserAttributes;
  audit: AuditLog;
  settings: Pick<IdentityUpstream, 'claim' | 'userAttribute' | 'acrValues' | 'holdSeconds'>;
  /** Where why the upstream failed is written for the operator (the audit log has only the reason). */
  log: Pick<Logger, 'warn'>;
  /** The clock, epoch ms. */
  now: () => number;
}): IdentityVerification {
  const { settings } = deps;

  /** An upstream failure's reason, its cause logged in one line: openid-client's messages name the check that failed, never a token. */
  const upstreamFailure = (error: UpstreamError) => {
    const cause = error.cause instanceof Error ? error.cause.message : String(error.cause);
    deps.log.warn({ reason: error.reason, cause }, 'identity verification: the upstream failed');
    return error.reason;
  };

  /** Audits a failure and returns its reason. */
  const failed = async (user: User, context: ActContext, reason: VerificationFailure, details: Record<string, unknown> = {}) => {
    await deps.audit.record({ type: 'identity.verification_failed', ...context, userId: user.id, details: { reason, ...details } });
    return reason;
  };

  return {
    holdSeconds: settings.holdSeconds,

    authorizationOrigin: () => deps.upstream.authorizationOrigin(),

    async begin({ sessionId, user, context }) {
      // No use sending someone through MitID when nothing could match.
      if (!(await deps.attributes.expected(user, settings.userAttribute))) return { ok: false, reason: await failed(user, context, 'no_attribute') };
      const checks = await deps.transactions.begin({ sessionId, userId: user.id });
      try {
        return { ok: true, url: await deps.upstream.authorizationUrl(checks) };
      } catch (error) {
        if (error instanceof UpstreamError) return { ok: false, reason: await failed(user, context, upstreamFailure(error)) };
        throw error;
      }
    },

    async finish({ sessionId, user, params, context }) {
      const taken = await deps.transactions.take({ state: params.get('state') ?? '', sessionId, userId: user.id });
      if (!taken.ok) return { verified: false, reason: await failed(user, context, taken.reason) };
      if (params.has('error')) {
        const upstreamError = errorCode(params.get('error'));
        return { verified: false, reason: await failed(user, context, upstreamError === 'access_denied' ? 'cancelled' : 'upstream_error', { upstreamError }) };
      }
      let said;
      try {
        said = await deps.upstream.redeem(params, taken.checks);
      } catch (error) {
        if (error instanceof UpstreamError) return { verified: false, reason: await failed(user, context, upstreamFailure(error)) };
        throw error;
      }
      const acr = typeof said.idToken.acr === 'string' ? said.idToken.acr : undefined;
      const result = checkUpstreamIdentity({
        ...said,
        claim: settings.claim,
        acrValues: settings.acrValues,
        expected: await deps.attributes.expected(user, settings.userAttribute),
        digest: (value) => deps.attributes.digest(settings.userAttribute, value),
      });
      if (!result.verified) return { verified: false, reason: await failed(user, context, result.reason, { acr }) };
      const at = Math.floor(deps.now() / 1000);
      await deps.audit.record({ type: 'identity.verified', ...context, userId: user.id, details: { acr, holdSeconds: settings.holdSeconds } });
      return { verified: true, at };
    },
  };
}
