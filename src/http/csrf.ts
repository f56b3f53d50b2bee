import { createHmac, timingSafeEqual } from 'node:crypto';

import type { Context } from 'koa';

import { IdpError } from './errors.ts';

/**
 * CSRF protection for our forms: a token bound to what the form acts on (an interaction uid, a
 * session) with an HMAC under a key derived from `SECRET_KEY`, so every node can check it
 * without shared state; plus, where the browser sends one, an `Origin` that must be ours.
 */
export interface Csrf {
  token(binding: string): string;
  /** Throws `csrf_failed` unless the posted `_csrf` matches `binding` and the origin is ours. */
  verify(ctx: Context, binding: string, posted: unknown): void;
}

export function createCsrf(options: { key: Buffer; issuer: string }): Csrf {
  const ownOrigin = new URL(options.issuer).origin;
  const token = (binding: string) => createHmac('sha256', options.key).update(binding).digest('base64url');
  return {
    token,
    verify(ctx, binding, posted) {
      const origin = ctx.get('origin');
      if (origin && origin !== ownOrigin) {
        throw new IdpError('csrf_failed', { detail: `form posted from origin ${origin}` });
      }
      const expected = Buffer.from(token(binding));
      const given = Buffer.from(typeof posted === 'string' ? posted : '');
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        throw new IdpError('csrf_failed', { detail: 'missing or wrong CSRF token' });
      }
    },
  };
}
