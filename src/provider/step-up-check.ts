import type { Context } from 'koa';
import { interactionPolicy, type KoaContextWithOIDC } from 'oidc-provider';

import { decideStepUp, sessionAssurance } from '../auth/step-up.ts';
import type { SsoSessions } from '../sessions/sso-sessions.ts';
import type { ReadLoginRequirements } from './login-requirements.ts';
import { restateForRequest } from './token-assurance.ts';

/**
 * oidc-provider's default policy treats `acr_values` as voluntary and never prompts for them.
 * This adds a check to the login prompt: what our SSO session (`sessions/`) has proven decides,
 * not oidc-provider's session. A session whose factors are too few or too old for what the
 * request needs, or that is gone (ended, idle, logged out, the account locked), or that belongs
 * to another account than oidc-provider's, goes to the interaction, which asks for just what is
 * missing (and, with our session for another account, logs in as that one: ours wins). A session
 * that needs nothing more has its `acr`, `amr` and `auth_time` restated for this request
 * ({@link restateForRequest}).
 */
export function stepUpPolicy(options: { requirements: ReadLoginRequirements; sessions: SsoSessions; now: () => number }) {
  const { Check, base } = interactionPolicy;
  const policy = base();
  const login = policy.get('login');
  if (!login) throw new Error('oidc-provider base policy has no login prompt');
  login.checks.push(new Check(
    'step_up',
    'the session does not satisfy the requested level of assurance',
    async (ctx: KoaContextWithOIDC) => {
      const { session, params, result } = ctx.oidc;
      // No session: the `no_session` check asks. Just logged in: the interaction decided.
      if (!session?.accountId || result?.login) return Check.NO_NEED_TO_PROMPT;
      const requirements = await options.requirements(params as Record<string, unknown>);
      const ours = (await options.sessions.current(ctx as unknown as Context))?.authentication;
      const assuranceOptions = {
        session: ours?.accountId === session.accountId ? ours : undefined,
        now: Math.floor(options.now() / 1000),
        lifetimes: requirements.lifetimes,
        maxAge: requirements.maxAge,
      };
      const decision = decideStepUp({ ...assuranceOptions, needed: requirements.level });
      if (decision.password || decision.secondFactor) return Check.REQUEST_PROMPT;
      // No login now: the code carries what the session proves for this client at this moment,
      // not what the last login proved (which may include a second factor past its lifetime).
      restateForRequest(ctx.oidc, sessionAssurance(assuranceOptions));
      return Check.NO_NEED_TO_PROMPT;
    },
  ));
  return policy;
}
