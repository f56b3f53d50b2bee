import type { Context, Middleware, Next } from 'koa';

import { requestState } from './context.ts';

/**
 * A strict Content-Security-Policy with no inline script or style, and the usual hardening
 * headers. `form-action` names our own origin plus what a page hands back to (the relying party,
 * the upstream identity provider): browsers apply it to the redirects that follow a form post,
 * and a login form's post ends in a redirect to the relying party. It is always there, as
 * `form-action` does not fall back to `default-src`: without it a form could post anywhere.
 * oidc-provider's form_post page adds its script's hash itself.
 */
export function securityHeaders(): Middleware {
  return async (ctx: Context, next: Next) => {
    await next();
    const formTargets = requestState(ctx).formTargets;
    const policy = [
      "default-src 'none'",
      "script-src 'self'",
      "style-src 'self'",
      "img-src 'self' data:",
      "connect-src 'self'",
      "base-uri 'none'",
      "frame-ancestors 'none'",
      ["form-action 'self'", ...formTargets].join(' '),
    ].join('; ');
    if (!ctx.response.get('content-security-policy')) ctx.set('Content-Security-Policy', policy);
    ctx.set('X-Content-Type-Options', 'nosniff');
    // Not `no-referrer`: browsers then send `Origin: null` on form posts, and the CSRF check
    // needs the real origin. `same-origin` still tells relying parties nothing.
    ctx.set('Referrer-Policy', 'same-origin');
    ctx.set('X-Frame-Options', 'DENY');
    ctx.set('Cross-Origin-Opener-Policy', 'same-origin');
    if (ctx.secure) ctx.set('Strict-Transport-Security', 'max-age=31536000; includeSubDomains');
  };
}
