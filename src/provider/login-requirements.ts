import type { FactorLifetimes, LoginRequirements } from '../auth/step-up.ts';
import type { AuthenticationStore } from '../store/authentications.ts';
import type { ClientRecord, ClientRepository } from '../store/clients.ts';
import { requestedLevel } from './requested-level.ts';

export type ReadLoginRequirements = (request: {
  params: Record<string, unknown>;
  session: { uid?: string | undefined; accountId?: string | undefined } | undefined;
}) => Promise<LoginRequirements>;

/**
 * Reads an authorization request's requirements: the level (client minimum, `acr_values`,
 * essential `acr` claim), the factor lifetimes (the client's own, else the defaults),
 * `max_age` and `prompt=login`, and what the session has proven. The prompt check and the
 * interaction pages both read it, so they cannot disagree.
 */
export function createLoginRequirements(deps: {
  clients: ClientRepository;
  authentications: AuthenticationStore;
  lifetimes: FactorLifetimes;
}): ReadLoginRequirements {
  return async ({ params, session }) => {
    const client = typeof params.client_id === 'string' ? await deps.clients.find(params.client_id) : undefined;
    const recorded = session?.uid && session.accountId ? await deps.authentications.forSession(session.uid) : undefined;
    const maxAge = params.max_age === undefined ? undefined : Number(params.max_age);
    return {
      level: requestedLevel({ acr_values: params.acr_values, claims: params.claims, clientMinimum: client?.level ?? 'low' }),
      lifetimes: lifetimesFor(client, deps.lifetimes),
      authentication: recorded && recorded.accountId === session?.accountId ? recorded : undefined,
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
