import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import { errors, type InteractionResults } from 'oidc-provider';

import { ACR_VALUES } from '../auth/levels.ts';
import type { Flow, FlowProtocol } from '../interactions/flow.ts';
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
        requirements: await options.requirements({ params: details.params, session: details.session }),
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
        // Carried through the interaction to the resumed request, which knows the session uid
        // to keep it under (see `session-authentication.ts`).
        authentication,
      });
    },

    async proceed(ctx) {
      // The grant was made by `loadExistingGrant`; consent needs nothing from the user.
      const details = await options.provider().interactionDetails(ctx.req, ctx.res);
      await finish(ctx, { consent: { grantId: details.grantId } });
    },

    async fail(ctx, _flow, error) {
      await finish(ctx, { error: error.error, error_description: error.description });
    },
  };
}
