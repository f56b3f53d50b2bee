import { REDIRECT_URI } from '../test/oidc/login-flow.ts';

/** The relying party both servers know: the same id, secret and redirect URI the tests' `registerClient` uses. */
export const BENCH_CLIENT_ID = 'bench-rp';
export const BENCH_CLIENT_SECRET = `${BENCH_CLIENT_ID}-secret-that-is-long-enough-to-be-strong`;
export const BENCH_REDIRECT_URI = REDIRECT_URI;

/** HTTP Basic for the token endpoint (client_secret_basic, RFC 6749 §2.3.1). */
export const BENCH_BASIC_AUTH = `Basic ${Buffer.from(`${encodeURIComponent(BENCH_CLIENT_ID)}:${encodeURIComponent(BENCH_CLIENT_SECRET)}`).toString('base64')}`;
