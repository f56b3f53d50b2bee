import type { Context } from 'koa';

/** A posted form field as a string; anything else (absent, repeated, an object) is empty. */
export function formField(ctx: Context, name: string): string {
  const value = (ctx.request.body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : '';
}
