import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import { errors, type InteractionResults } from 'oidc-provider';

import { ACR_VALUES, higherLevel, levelOfAcr, lowerLevel, type Level } from '../auth/levels.ts';
import type { Flow, FlowProtocol } from '../interactions/flow.ts';
import type { ClientRepository } from '../store/clients.ts';

/**
 * OIDC as a flow protocol: an oidc-provider interaction becomes a {@link Flow}, and a finished
 * login becomes `interactionResult`, which resumes the authorization request.
 */
export function createOidcFlowProtocol(options: { provider: () => Provider; clients: ClientRepository }): FlowProtocol {
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
      const client = await options.clients.find(clientId);
      const redirectUri = typeof details.params.redirect_uri === 'string' ? details.params.redirect_uri : undefined;
      return {
        protocol: 'oidc',
        uid,
        clientId,
        clientName: (client?.metadata.client_name as string | undefined) ?? clientId,
        returnOrigin: redirectUri ? new URL(redirectUri).origin : undefined,
        needsLogin: details.prompt.name === 'login',
        level: requestedLevel(details.params, client?.level ?? 'low'),
        sessionAccountId: details.session?.accountId,
      } satisfies Flow;
    },

    async complete(ctx, _flow, result) {
      await finish(ctx, {
        login: { accountId: result.accountId, acr: ACR_VALUES[result.level], amr: result.amr, ts: result.authTime, remember: true },
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

/**
 * The level an authorization request needs. `acr_values` lists the values the relying party
 * accepts (OIDC Core §3.1.2.1), so the lowest known one is enough; the client's registered
 * minimum applies whatever it asks.
 */
function requestedLevel(params: Record<string, unknown>, clientMinimum: Level): Level {
  const asked = (typeof params.acr_values === 'string' ? params.acr_values.split(' ') : [])
    .map(levelOfAcr)
    .filter((level): level is Level => level !== undefined);
  return asked.length ? higherLevel(clientMinimum, asked.reduce(lowerLevel)) : clientMinimum;
}
