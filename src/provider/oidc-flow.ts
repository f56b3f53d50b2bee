import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import { errors, type InteractionResults } from 'oidc-provider';

import { ACR_VALUES } from '../auth/levels.ts';
import type { Flow, FlowFailure, FlowProtocol } from '../interactions/flow.ts';
import type { ReadLoginRequirements } from './login-requirements.ts';

/**
 * OIDC as a flow protocol: an oidc-provider interaction becomes a {@link Flow}, and a finished
 * login becomes `interactionResult`, which resumes the authorization request.
 */
export function createOidcFlowProtocol(options: {
  provider: () => Provider;
  requirements: ReadLoginRequirements;
}): FlowProtocol {
  const finish = async (ctx: Context, result: InteractionResults) => {
    const returnTo = await options.provider().interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
    ctx.status = 303;
    ctx.redirect(returnTo);
  };

  return {
    name: 'oidc',

    async load(ctx, uid) {
      let details;
      try {
        details = await options.provider().interactionDetails(ctx.req, ctx.res);
      } catch (error) {
        if (error instanceof errors.SessionNotFound) return undefined;
        throw error;
      }
      if (details.uid !== uid) return undefined;
      const clientId = String(details.params.client_id);
      // oidc-provider's lookup knows the static clients (self-service) as well as the registered ones.
      const client = await options.provider().Client.find(clientId);
      const redirectUri = typeof details.params.redirect_uri === 'string' ? details.params.redirect_uri : undefined;
      return {
        protocol: 'oidc',
        uid,
        clientId,
        clientName: client?.clientName ?? clientId,
        returnOrigin: redirectUri ? new URL(redirectUri).origin : undefined,
        needsLogin: details.prompt.name === 'login',
        passive: false,
        requirements: await options.requirements(details.params),
      } satisfies Flow;
    },

    async complete(ctx, _flow, result) {
      const { authentication } = result;
      await finish(ctx, {
        login: {
          accountId: authentication.accountId,
          acr: ACR_VALUES[result.level],
          amr: result.amr,
          ts: result.authTime,
          remember: true,
        },
      });
    },

    async proceed(ctx) {
      // The grant was made by `loadExistingGrant`; consent needs nothing from the user.
      const details = await options.provider().interactionDetails(ctx.req, ctx.res);
      await finish(ctx, { consent: { grantId: details.grantId } });
    },

    async fail(ctx, _flow, reason) {
      await finish(ctx, OIDC_ERRORS[reason]);
    },
  };
}

/**
 * How a flow that fails reaches the relying party: the user's refusal is `access_denied`
 * (RFC 6749 §4.1.2.1); a user without the second factor the level needs is OpenID Connect's
 * "Unmet Authentication Requirements" (OpenID Connect Unmet Authentication Requirements 1.0 §3).
 */
const OIDC_ERRORS: Record<FlowFailure, { error: string; error_description: string }> = {
  cancelled: { error: 'access_denied', error_description: 'the user cancelled the login' },
  no_factor: { error: 'unmet_authentication_requirements', error_description: 'the user has no second factor for the requested level' },
  passive: { error: 'login_required', error_description: 'the login needs the user' },
};
