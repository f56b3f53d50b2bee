import { randomBytes } from 'node:crypto';

import type { ClientMetadata } from 'oidc-provider';

import { createShortLivedAdapter } from '../../adapters/short-lived.ts';
import { LEVELS, type Level } from '../../auth/levels.ts';
import { SIGNING_ALGORITHMS } from '../../crypto/signing-keys.ts';
import { CLIENTS_CHANGED_CHANNEL, type ClientRecord } from '../../store/clients.ts';
import type { Storage } from '../../store/index.ts';
import type { ShortLivedStore } from '../../store/short-lived/types.ts';
import { CliError, UsageError } from '../errors.ts';
import type { Output } from '../output.ts';
import { validateClientMetadata } from '../provider-check.ts';
import { checkClientId, checkClientSecret, checkDisplayName, checkOneOf, checkRedirectUri, printable } from '../validate.ts';

/** The grants a relying party may be registered for (the provider enables exactly these). */
export const GRANT_TYPES = ['authorization_code', 'refresh_token', 'client_credentials'] as const;
export type GrantType = (typeof GRANT_TYPES)[number];

/** Grants a client gets when `--grant-type` is not given. */
export const DEFAULT_GRANT_TYPES: readonly GrantType[] = ['authorization_code', 'refresh_token'];

/** What `stepup` shows of a client: its metadata in the spec's spelling, never a secret. */
export interface ClientSummary {
  client_id: string;
  client_name: string | null;
  level: Level;
  /** `none` for a public client, `client_secret_basic` for a confidential one. */
  token_endpoint_auth_method: string;
  grant_types: string[];
  redirect_uris: string[];
  post_logout_redirect_uris: string[];
  id_token_signed_response_alg: string;
  /** Minutes, or null for the IdP's default. */
  password_max_age_minutes: number | null;
  second_factor_max_age_minutes: number | null;
  /** `on` or `off`, or null for the IdP's setting (`NUMBER_MATCHING`). */
  number_matching: 'on' | 'off' | null;
  created_at: string;
}

export interface AddClientInput {
  clientId: string;
  redirectUris: string[];
  postLogoutRedirectUris?: string[] | undefined;
  /** Defaults to {@link DEFAULT_GRANT_TYPES}. */
  grantTypes?: string[] | undefined;
  /** A public client (a browser or native app) has no secret and authenticates with PKCE alone. */
  public?: boolean | undefined;
  /** The secret of a confidential client; left out, one is generated. */
  secret?: string | undefined;
  /** The minimum level every login for this client reaches. Defaults to `low`. */
  level?: string | undefined;
  /** `client_name`, shown on the login page. */
  name?: string | undefined;
  /** Defaults to `ES256`. */
  idTokenSignedResponseAlg?: string | undefined;
  /** Minutes a password / second factor counts in the SSO session for this client; left out, the IdP's default. */
  passwordMaxAge?: string | undefined;
  secondFactorMaxAge?: string | undefined;
  /** `on` or `off`: number matching on devices for this client's logins; left out, the IdP's setting. */
  numberMatching?: string | undefined;
}

export interface AddClientResult {
  client: ClientSummary;
  /** Only when the secret was generated: the one time it is shown. */
  client_secret?: string;
}

/**
 * Registers a relying party (`stepup client add`). The whole metadata is checked first, by our
 * rules and then by oidc-provider's own validation, so nothing is written that the provider
 * would refuse when it loads the client. The secret is sealed at rest by the repository and
 * appears neither in the audit log nor in `client list`.
 */
export async function addClient(
  deps: { storage: Pick<Storage, 'db' | 'clients' | 'audit'>; issuer: string },
  input: AddClientInput,
  out: Output,
): Promise<AddClientResult> {
  const { metadata, level, secret, generated, passwordMaxAgeSeconds, secondFactorMaxAgeSeconds, numberMatching } = buildClient(input);
  await validateClientMetadata(deps.issuer, { ...metadata, ...(secret ? { client_secret: secret } : {}) });

  if (await deps.storage.clients.find(metadata.client_id)) {
    throw new CliError('conflict', `a client "${metadata.client_id}" already exists`);
  }
  const record = await deps.storage.db.transaction(async (trx) => {
    let added: ClientRecord;
    try {
      added = await deps.storage.clients.add({ metadata, clientSecret: secret, level, passwordMaxAgeSeconds, secondFactorMaxAgeSeconds, numberMatching }, trx);
    } catch (error) {
      if ((error as { code?: string }).code === '23505') throw new CliError('conflict', `a client "${metadata.client_id}" already exists`, { cause: error });
      throw error;
    }
    await deps.storage.audit.record({
      type: 'client.created',
      actor: 'cli',
      clientId: added.clientId,
      details: {
        level,
        passwordMaxAgeSeconds,
        secondFactorMaxAgeSeconds,
        numberMatching,
        token_endpoint_auth_method: metadata.token_endpoint_auth_method,
        grant_types: metadata.grant_types,
        redirect_uris: metadata.redirect_uris,
        secretGenerated: generated,
      },
    }, trx);
    return added;
  });

  const client = summary(record);
  out.line(`Added ${client.token_endpoint_auth_method === 'none' ? 'public' : 'confidential'} client ${client.client_id} (level ${client.level}).`);
  for (const text of describe(client)) out.line(`  ${text}`);
  if (generated) {
    out.line('Client secret (shown only this once; store it now):');
    out.line(`  ${secret}`);
  }
  return generated ? { client, client_secret: secret as string } : { client };
}

/** Every registered client, by client_id (`stepup client list`); never a secret. */
export async function listClients(deps: { storage: Pick<Storage, 'clients'> }, out: Output): Promise<{ clients: ClientSummary[] }> {
  const clients = (await deps.storage.clients.list()).map(summary);
  if (clients.length === 0) out.line('No clients are registered.');
  for (const client of clients) {
    const kind = client.token_endpoint_auth_method === 'none' ? 'public' : 'confidential';
    out.line(`${client.client_id}${client.client_name ? ` "${client.client_name}"` : ''}: ${kind}, level ${client.level}`);
    for (const text of describe(client)) out.line(`  ${text}`);
  }
  return { clients };
}

/**
 * Clients fixed in the IdP's configuration, not registered (`SELFSERVICE_CLIENT_ID` in
 * `src/selfservice/router.ts`; a test holds the two together). They cannot be removed.
 */
export const BUILT_IN_CLIENT_IDS: ReadonlySet<string> = new Set(['stepup-selfservice']);

/** Short-lived records oidc-provider keeps per grant in Redis: access tokens and unredeemed codes. */
const SHORT_LIVED_GRANT_MODELS = ['AccessToken', 'AuthorizationCode', 'DeviceCode', 'BackchannelAuthenticationRequest'];

export interface RemoveClientResult {
  client_id: string;
  grants_revoked: number;
  refresh_tokens_revoked: number;
}

/**
 * Removes a relying party (`stepup client remove`) and revokes what it was given: its row, its
 * grants and refresh tokens go in one transaction, then {@link CLIENTS_CHANGED_CHANNEL} tells
 * every node to forget the client it keeps in memory, so every node refuses it at once
 * (oidc-provider refuses a token whose client or grant is gone). Its access tokens and codes in
 * Redis are deleted too, for tidiness: they are already refused, and expire within minutes.
 */
export async function removeClient(
  deps: { storage: Pick<Storage, 'db' | 'clients' | 'audit' | 'shortLived'> },
  input: { clientId: string },
  out: Output,
): Promise<RemoveClientResult> {
  const { clientId } = input;
  if (BUILT_IN_CLIENT_IDS.has(clientId)) {
    throw new CliError('invalid_input', `"${printable(clientId)}" is the IdP's own self-service client, part of its configuration; it cannot be removed`);
  }
  const removed = await deps.storage.db.transaction(async (trx) => {
    const result = await deps.storage.clients.remove(clientId, trx);
    if (!result) throw new CliError('not_found', `no client "${printable(clientId)}" is registered (see stepup client list)`);
    await deps.storage.audit.record({
      type: 'client.removed',
      actor: 'cli',
      clientId,
      details: { grantsRevoked: result.grantIds.length, refreshTokensRevoked: result.refreshTokens },
    }, trx);
    return result;
  });
  const nodesTold = await deps.storage.shortLived.publish(CLIENTS_CHANGED_CHANNEL, clientId).then(() => true, () => false);
  const leftInStore = await revokeShortLived(deps.storage.shortLived, removed.grantIds).then(() => false, () => true);

  out.line(`Removed client ${printable(clientId)}: ${removed.grantIds.length} grant(s) and ${removed.refreshTokens} refresh token(s) revoked.`);
  // A node keeps a client at most a minute without being told (store/client-cache.ts).
  if (!nodesTold) out.line('  Running nodes could not be told over Redis; they stop accepting it within a minute.');
  if (leftInStore) out.line('  Its access tokens could not be deleted from Redis; they are refused anyway and expire within 10 minutes.');
  return { client_id: clientId, grants_revoked: removed.grantIds.length, refresh_tokens_revoked: removed.refreshTokens };
}

async function revokeShortLived(store: ShortLivedStore, grantIds: string[]) {
  await Promise.all(grantIds.flatMap((grantId) =>
    SHORT_LIVED_GRANT_MODELS.map((model) => createShortLivedAdapter(store, model).revokeByGrantId(grantId))));
}

/** The metadata to store, from the operator's input; throws on anything our rules refuse. */
export function buildClient(input: AddClientInput): {
  metadata: ClientMetadata & { client_id: string };
  level: Level;
  secret: string | undefined;
  generated: boolean;
  passwordMaxAgeSeconds: number | null;
  secondFactorMaxAgeSeconds: number | null;
  numberMatching: boolean | null;
} {
  const clientId = checkClientId(input.clientId);
  if (input.public && input.secret !== undefined) throw new UsageError('--public and --secret cannot be used together', 'client add');
  const grantTypes = [...new Set((input.grantTypes?.length ? input.grantTypes : DEFAULT_GRANT_TYPES).map((grant) => checkOneOf(grant, GRANT_TYPES, '--grant-type')))];
  const level = checkOneOf(input.level ?? 'low', LEVELS, '--level');
  const alg = checkOneOf(input.idTokenSignedResponseAlg ?? 'ES256', SIGNING_ALGORITHMS, '--id-token-signed-response-alg');
  const name = input.name === undefined ? undefined : checkDisplayName(input.name);
  const redirectUris = [...new Set(input.redirectUris.map((uri) => checkRedirectUri(uri)))];
  const postLogoutRedirectUris = [...new Set((input.postLogoutRedirectUris ?? []).map((uri) => checkRedirectUri(uri, '--post-logout-redirect-uri')))];

  const browserLogin = grantTypes.includes('authorization_code');
  if (browserLogin && redirectUris.length === 0) throw new UsageError('--redirect-uri is required for the authorization_code grant', 'client add');
  if (!browserLogin && redirectUris.length + postLogoutRedirectUris.length > 0) {
    throw new CliError('invalid_input', 'redirect URIs apply only to the authorization_code grant; add --grant-type authorization_code or leave them out');
  }
  if (grantTypes.includes('refresh_token') && !browserLogin) {
    throw new CliError('invalid_input', '--grant-type refresh_token needs authorization_code too: refresh tokens are issued only to logins');
  }
  // RFC 6749 §4.4: "The client credentials grant type MUST only be used by confidential clients."
  if (input.public && grantTypes.includes('client_credentials')) {
    throw new CliError('invalid_input', 'a public client cannot use client_credentials (RFC 6749 §4.4): it has no secret');
  }

  const secret = input.public ? undefined : input.secret === undefined ? generateSecret() : checkClientSecret(input.secret);
  const metadata: ClientMetadata & { client_id: string } = {
    client_id: clientId,
    ...(name === undefined ? {} : { client_name: name }),
    redirect_uris: redirectUris,
    ...(postLogoutRedirectUris.length ? { post_logout_redirect_uris: postLogoutRedirectUris } : {}),
    grant_types: grantTypes,
    // Only the code flow: oidc-provider derives the grants from response_types, so a client
    // without authorization_code must have none.
    response_types: browserLogin ? ['code'] : [],
    token_endpoint_auth_method: input.public ? 'none' : 'client_secret_basic',
    id_token_signed_response_alg: alg,
  };
  return {
    metadata,
    level,
    secret,
    generated: !input.public && input.secret === undefined,
    passwordMaxAgeSeconds: minutesToSeconds(input.passwordMaxAge, '--password-max-age'),
    secondFactorMaxAgeSeconds: minutesToSeconds(input.secondFactorMaxAge, '--second-factor-max-age'),
    numberMatching: input.numberMatching === undefined ? null : checkOneOf(input.numberMatching, ['on', 'off'] as const, '--number-matching') === 'on',
  };
}

/** A lifetime in whole minutes (1 to a week) as seconds; null when not given. */
function minutesToSeconds(value: string | undefined, option: string): number | null {
  if (value === undefined) return null;
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 7 * 24 * 60) {
    throw new CliError('invalid_input', `${option} must be whole minutes from 1 to ${7 * 24 * 60}, got "${value}"`);
  }
  return Number(value) * 60;
}

/** 32 random bytes, base64url: 256 bits, 43 characters. */
export function generateSecret(): string {
  return randomBytes(32).toString('base64url');
}

function summary(record: ClientRecord): ClientSummary {
  const m = record.metadata;
  return {
    client_id: record.clientId,
    client_name: typeof m.client_name === 'string' ? m.client_name : null,
    level: record.level,
    token_endpoint_auth_method: m.token_endpoint_auth_method ?? 'client_secret_basic',
    grant_types: [...(m.grant_types ?? DEFAULT_GRANT_TYPES)],
    redirect_uris: [...(m.redirect_uris ?? [])],
    post_logout_redirect_uris: [...(m.post_logout_redirect_uris ?? [])],
    id_token_signed_response_alg: m.id_token_signed_response_alg ?? 'ES256',
    password_max_age_minutes: record.passwordMaxAgeSeconds === null ? null : record.passwordMaxAgeSeconds / 60,
    second_factor_max_age_minutes: record.secondFactorMaxAgeSeconds === null ? null : record.secondFactorMaxAgeSeconds / 60,
    number_matching: record.numberMatching === null ? null : record.numberMatching ? 'on' : 'off',
    created_at: new Date(record.createdAt).toISOString(),
  };
}

function describe(client: ClientSummary): string[] {
  return [
    `grant types: ${client.grant_types.join(', ')}`,
    ...(client.redirect_uris.length ? [`redirect URIs: ${client.redirect_uris.join(' ')}`] : []),
    ...(client.post_logout_redirect_uris.length ? [`post-logout redirect URIs: ${client.post_logout_redirect_uris.join(' ')}`] : []),
    ...(client.grant_types.includes('authorization_code') ? [`id_token signed with ${client.id_token_signed_response_alg}`] : []),
    ...(client.password_max_age_minutes !== null ? [`a password counts for ${client.password_max_age_minutes} minutes`] : []),
    ...(client.second_factor_max_age_minutes !== null ? [`a second factor counts for ${client.second_factor_max_age_minutes} minutes`] : []),
    ...(client.number_matching !== null ? [`number matching ${client.number_matching}`] : []),
  ].map((text) => printable(text, Infinity));
}
