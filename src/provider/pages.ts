import { errors, type KoaContextWithOIDC } from 'oidc-provider';

import { requestState } from '../http/context.ts';
import { IdpError } from '../http/errors.ts';
import { translate } from '../http/i18n.ts';
import type { Renderer } from '../http/render.ts';
import { storageOutage } from '../store/outage.ts';
import type { ProviderPages } from './index.ts';

/**
 * oidc-provider's own pages (its errors, the logout confirmation) in our templates, so they
 * carry the same language, CSP and accessibility as the login pages.
 */
export function createProviderPages(render: Renderer): ProviderPages {
  return {
    async renderError(ctx, out, error) {
      // Our storage's outage is no fault of the relying party's, whatever oidc-provider makes of
      // it: thrown on, it reaches our error handler, which answers "temporarily unavailable"
      // (503, Retry-After) as on every other page.
      if (storageOutage(error)) throw error;
      // A login whose state is gone (expired, its cookie lost, or Redis restarted empty) is no
      // bad request of the relying party's either: the user is told to start again from there.
      if (error instanceof errors.SessionNotFound) throw new IdpError('interaction_expired', { detail: out.error_description });
      const state = requestState(ctx);
      state.log.warn({ error: out.error, description: out.error_description, status: (error as { status?: number }).status }, 'oidc error page');
      render(ctx, 'error', {
        code: out.error,
        message: translate(state.language, 'error.oidc'),
        detail: out.error_description ? `${out.error}: ${out.error_description}` : out.error,
      }, ctx.status >= 400 ? ctx.status : 400);
    },
    async logoutSource(ctx: KoaContextWithOIDC, form: string) {
      const target = ctx.oidc.params?.post_logout_redirect_uri;
      if (typeof target === 'string') requestState(ctx).formTargets = [new URL(target).origin];
      render(ctx, 'logout', { form });
    },
    async postLogoutSuccessSource(ctx) {
      render(ctx, 'logout-done');
    },
  };
}
