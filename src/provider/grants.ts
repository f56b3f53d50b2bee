import type { KoaContextWithOIDC } from 'oidc-provider';

/**
 * The grant for this request: the existing one if the session has one for the client, else a
 * new one covering what the client asked for. Relying parties are registered by IT, so the
 * employee is never shown a consent page (the pattern oidc-provider documents for first-party
 * clients under `loadExistingGrant`).
 */
export async function loadExistingGrant(ctx: KoaContextWithOIDC) {
  const { oidc } = ctx;
  const { Grant } = oidc.provider;
  const client = oidc.client;
  const session = oidc.session;
  if (!client || !session?.accountId) return undefined;

  const grantId = (oidc.result?.consent as { grantId?: string } | undefined)?.grantId ?? session.grantIdFor(client.clientId);
  const grant = (grantId && (await Grant.find(grantId))) || new Grant({ accountId: session.accountId, clientId: client.clientId });

  const scope = oidc.params?.scope as string | undefined;
  if (scope) grant.addOIDCScope(scope);
  const claims = oidc.requestParamClaims;
  if (claims?.size) grant.addOIDCClaims([...claims]);
  await grant.save();
  return grant;
}
