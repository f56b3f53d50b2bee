import { bodyParser } from '@koa/bodyparser';
import type { Context, Middleware } from 'koa';

import type { Csrf } from './csrf.ts';

/** Parses a posted form (urlencoded only, at most 16 kB: every form of ours is a few fields). */
export function formParser(): Middleware {
  return bodyParser({ enableTypes: ['form'], formLimit: '16kb' });
}

/** A posted form field as a string; anything else (absent, repeated, an object) is empty. */
export function formField(ctx: Context, name: string): string {
  const value = (ctx.request.body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : '';
}

/**
 * Throws `csrf_failed` unless the posted form carries the `_csrf` token bound to `binding` (an
 * interaction, a portal session) and, where the browser says, comes from our origin.
 */
export function checkFormToken(ctx: Context, csrf: Csrf, binding: string): void {
  csrf.verify(ctx, binding, formField(ctx, '_csrf'));
}
