import type { KoaContextWithOIDC } from 'oidc-provider';

import { requestState } from '../http/context.ts';
import { translate } from '../http/i18n.ts';
import type { Renderer } from '../http/render.ts';
import type { ProviderPages } from './index.ts';

/**
 * oidc-provider's own pages (its errors, the logout confirmation) in our templates, so they
 * carry the same language, CSP and accessibility as the login pages.
 */
export function createProviderPages(render: Renderer): ProviderPages {
  return {
    async renderError(ctx, out, error) {
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
