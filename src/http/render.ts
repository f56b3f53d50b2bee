import { fileURLToPath } from 'node:url';

import { Eta } from 'eta';
import type { Context } from 'koa';

import { requestState } from './context.ts';
import { translate, type Language, type MessageKey } from './i18n.ts';

const VIEWS = fileURLToPath(new URL('../../views', import.meta.url));

/** What every template gets beside its own data. */
export interface PageBase {
  lang: Language;
  t: (key: MessageKey) => string;
  /** Prefix for our own URLs when mounted under a path (`/idp`). */
  base: string;
  /**
   * The language switch: the current page with the other language. A query-only relative
   * reference (RFC 3986 §5.2.2 keeps the base's scheme, authority and path), so no request path
   * such as `//evil.example/x` can make it point off-origin.
   */
  switchHref: string;
  requestId: string;
}

export type Renderer = (ctx: Context, view: string, data?: Record<string, unknown>, status?: number) => void;

/**
 * Server-rendered pages from `views/` with Eta; every `<%= %>` is HTML-escaped. Templates are
 * compiled once and cached.
 */
export function createRenderer(options: { basePath: string }): Renderer {
  const eta = new Eta({ views: VIEWS, autoEscape: true, cache: true, useWith: false });
  return (ctx, view, data = {}, status = 200) => {
    const state = requestState(ctx);
    const other = state.language === 'da' ? 'en' : 'da';
    const base: PageBase = {
      lang: state.language,
      t: (key) => translate(state.language, key),
      base: options.basePath,
      switchHref: `?lang=${other}`,
      requestId: state.requestId,
    };
    ctx.status = status;
    ctx.type = 'html';
    ctx.set('Cache-Control', 'no-store');
    ctx.body = eta.render(view, { ...base, ...data });
  };
}
