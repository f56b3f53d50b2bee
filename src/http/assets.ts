import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

import type { Context, Middleware, Next } from 'koa';

const TYPES: Readonly<Record<string, string>> = { '.css': 'text/css; charset=utf-8', '.js': 'text/javascript; charset=utf-8' };

/**
 * Serves the few files in `public/` under `/assets/`. They are read once at start; only names
 * listed here are served, so no request can reach another file.
 */
export function assets(files: string[]): Middleware {
  const served = new Map(files.map((name) => {
    const body = readFileSync(new URL(`../../public/${name}`, import.meta.url));
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 16)}"`;
    return [`/assets/${name}`, { body, etag, type: TYPES[name.slice(name.lastIndexOf('.'))] ?? 'application/octet-stream' }];
  }));
  return async (ctx: Context, next: Next) => {
    const file = ctx.method === 'GET' || ctx.method === 'HEAD' ? served.get(ctx.path) : undefined;
    if (!file) return next();
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.set('ETag', file.etag);
    if (ctx.get('if-none-match') === file.etag) {
      ctx.status = 304;
      return undefined;
    }
    ctx.type = file.type;
    ctx.body = file.body;
    return undefined;
  };
}
