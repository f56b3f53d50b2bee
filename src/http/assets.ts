import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

import type { Context, Middleware, Next } from 'koa';

const TYPES: Readonly<Record<string, string>> = { '.css': 'text/css; charset=utf-8', '.js': 'text/javascript; charset=utf-8' };

/** A file served under `/assets/<name>` from elsewhere than `public/` (a package's browser bundle). */
export interface ExternalAsset {
  name: string;
  source: URL;
}

/**
 * @simplewebauthn/browser's bundle (a UMD script defining `SimpleWebAuthnBrowser`), which the
 * security key pages' `webauthn.js` drives. The package exports only its modules, so the bundle
 * is found beside the module entry it resolves to.
 */
export const SIMPLEWEBAUTHN_BROWSER: ExternalAsset = {
  name: 'simplewebauthn-browser.js',
  source: new URL('../dist/bundle/index.umd.min.js', import.meta.resolve('@simplewebauthn/browser')),
};

/**
 * Serves the few files in `public/`, and the external ones given, under `/assets/`. They are
 * read once at start; only names listed here are served, so no request can reach another file.
 */
export function assets(files: Array<string | ExternalAsset>): Middleware {
  const served = new Map(files.map((file) => {
    const { name, source } = typeof file === 'string' ? { name: file, source: new URL(`../../public/${file}`, import.meta.url) } : file;
    const body = readFileSync(source);
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
