import type { FactorLifetimes, LoginRequirements } from '../auth/step-up.ts';
import type { ClientRecord, ClientRepository } from '../store/clients.ts';
import { requestedLevel } from './requested-level.ts';

export type ReadLoginRequirements = (params: Record<string, unknown>) => Promise<LoginRequirements>;

/**
 * Reads an authorization request's requirements: the level (client minimum, `acr_values`,
 * essential `acr` claim), the factor lifetimes (the client's own, else the defaults),
 * `max_age` and `prompt=login`. The prompt check and the OIDC flow both read it, so they cannot
 * disagree; what the SSO session has proven is the session's (`sessions/`).
 */
export function createLoginRequirements(deps: {
  clients: ClientRepository;
  lifetimes: FactorLifetimes;
}): ReadLoginRequirements {
  return async (params) => {
    const client = typeof params.client_id === 'string' ? await deps.clients.find(params.client_id) : undefined;
    const maxAge = params.max_age === undefined ? undefined : Number(params.max_age);
    return {
      level: requestedLevel({ acr_values: params.acr_values, claims: params.claims, clientMinimum: client?.level ?? 'low' }),
      lifetimes: lifetimesFor(client, deps.lifetimes),
      maxAge: Number.isFinite(maxAge) ? maxAge : undefined,
      forceLogin: typeof params.prompt === 'string' && params.prompt.split(' ').includes('login'),
    };
  };
}

/** How long each factor counts for a client: its own lifetimes, else the configured ones. */
export function lifetimesFor(client: ClientRecord | undefined, defaults: FactorLifetimes): FactorLifetimes {
  return {
    password: client?.passwordMaxAgeSeconds ?? defaults.password,
    secondFactor: client?.secondFactorMaxAgeSeconds ?? defaults.secondFactor,
  };
}
