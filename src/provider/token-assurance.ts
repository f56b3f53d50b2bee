import type { KoaContextWithOIDC } from 'oidc-provider';

import { ACR_VALUES, levelOfAcr } from '../auth/levels.ts';
import { sessionAssurance, type FactorLifetimes, type SessionAssurance } from '../auth/step-up.ts';
import type { AdapterPayload } from '../adapters/types.ts';
import type { ClientRepository } from '../store/clients.ts';
import { lifetimesFor } from './login-requirements.ts';

/**
 * Makes the code of this authorization request carry what the session proves now, for this
 * client. oidc-provider copies `acr` and `amr` from the session (`ctx.oidc.acr`/`amr`, which read
 * `session.acr`/`amr`) and `auth_time` from `session.authTime()` into the code and so into the ID
 * token (`helpers/process_response_types.js`): the values of the last interactive login, which
 * may claim a second factor whose lifetime has since ended (ARCHITECTURE.md: a token never claims
 * a factor whose lifetime has ended). The session itself is left as the login made it: the
 * restatement is for this request and this client's lifetimes only, so nothing is persisted.
 */
export function restateForRequest(oidc: KoaContextWithOIDC['oidc'], assurance: SessionAssurance) {
  const { session } = oidc;
  if (!session || assurance.authTime === undefined) return;
  const authTime = assurance.authTime;
  Object.defineProperties(oidc, {
    acr: { value: ACR_VALUES[assurance.level], configurable: true },
    amr: { value: assurance.amr, configurable: true },
  });
  // Not in Session.IN_PAYLOAD, so never saved; only this request's code reads it.
  Object.defineProperty(session, 'authTime', { value: () => authTime, configurable: true });
}

/** The `amr` values that name the password or the pair, not the second factor itself (RFC 8176). */
const NOT_SECOND_FACTOR = new Set(['pwd', 'mfa']);

/**
 * What a refresh token may still claim when it is used, for the client's lifetimes. The ID token
 * of a refresh repeats the token's `acr`, `amr` and `auth_time` (`actions/grants/refresh_token.js`),
 * and a refresh token lives for days. OIDC Core §12.2 keeps `auth_time` at the original
 * authentication, so it stays; `acr` and `amr` keep only the factors that still count. The token
 * records one time for its authentication, the oldest factor the level rested on
 * ({@link SessionAssurance.authTime}); every factor was proven at or after it, so counting each from
 * it never claims a factor past its lifetime (it may drop a younger second factor early). Once not
 * even the password counts, the token claims no `acr` or `amr` at all: it still identifies the
 * user (§12.2), but says nothing about how recently they authenticated beyond `auth_time`.
 */
export function refreshTokenAssurance(options: {
  /** The stored refresh token. */
  payload: AdapterPayload;
  /** Epoch seconds. */
  now: number;
  lifetimes: FactorLifetimes;
}): AdapterPayload {
  const { payload } = options;
  const level = typeof payload.acr === 'string' ? levelOfAcr(payload.acr) : undefined;
  if (typeof payload.authTime !== 'number' || !payload.accountId || !level) return withoutAssurance(payload);
  const assurance = sessionAssurance({
    session: {
      accountId: payload.accountId,
      passwordAt: payload.authTime,
      ...(level === 'substantial'
        ? { secondFactorAt: payload.authTime, secondFactorAmr: (payload.amr ?? []).filter((value) => !NOT_SECOND_FACTOR.has(value)) }
        : {}),
    },
    now: options.now,
    lifetimes: options.lifetimes,
  });
  if (assurance.authTime === undefined) return withoutAssurance(payload);
  return { ...payload, acr: ACR_VALUES[assurance.level], amr: assurance.amr };
}

function withoutAssurance(payload: AdapterPayload): AdapterPayload {
  const rest = { ...payload };
  delete rest.acr;
  delete rest.amr;
  return rest;
}

/**
 * Restates every refresh token oidc-provider reads ({@link refreshTokenAssurance}), with the
 * lifetimes of the client it was issued to.
 */
export function createRefreshTokenRestatement(deps: { clients: ClientRepository; lifetimes: FactorLifetimes; now: () => number }) {
  return async (payload: AdapterPayload): Promise<AdapterPayload> => {
    const client = payload.clientId ? await deps.clients.find(payload.clientId) : undefined;
    return refreshTokenAssurance({ payload, now: Math.floor(deps.now() / 1000), lifetimes: lifetimesFor(client, deps.lifetimes) });
  };
}
