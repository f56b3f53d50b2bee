import Provider, { errors, type Adapter } from 'oidc-provider';

import type { AdapterFactory } from '../adapters/types.ts';

/**
 * Records redeemed at the token endpoint, each once, with the models to revoke with them (those
 * oidc-provider's own `revoke` helper clears when it sees a replay).
 */
const REDEEMED_ONCE: ReadonlyMap<string, string> = new Map([
  ['AuthorizationCode', 'authorization code'],
  ['RefreshToken', 'refresh token'],
  ['DeviceCode', 'device code'],
  ['BackchannelAuthenticationRequest', 'backchannel authentication request'],
]);
const GRANT_MODELS = ['AccessToken', ...REDEEMED_ONCE.keys()];

/**
 * Makes a code or refresh token redeemable once, on every node at once. oidc-provider checks the
 * `consumed` field of the record it read, then calls `consume` and ignores its result
 * (`helpers/grant_source.js`, `actions/grants/refresh_token.js`), so two requests that read the
 * record before either consumed it would both get tokens. Our adapters' `consume` says who won;
 * the loser is treated exactly as oidc-provider treats a replay that comes later: `invalid_grant`,
 * and everything issued under the grant revoked (RFC 6749 §4.1.2 for codes; RFC 9700 §4.14.2 for
 * rotated refresh tokens: a refresh token used twice may have been stolen).
 *
 * A refresh token rotated in a request is consumed together with the saving of its successor,
 * which oidc-provider does next (`actions/grants/refresh_token.js`), in one statement where the
 * store can (`rotate`): one round trip fewer, and a failure between the two no longer leaves the
 * client with its old token spent and no new one.
 */
export function redeemOnce(factory: AdapterFactory, model: string): Adapter {
  const adapter = factory(model);
  const label = REDEEMED_ONCE.get(model);
  const rotations = new WeakMap<object, string>();

  const refuseReplay = async (id: string) => {
    const grantId = (await adapter.find(id))?.grantId;
    if (grantId) await revokeGrant(factory, grantId);
    throw new errors.InvalidGrant(`${label} already used`);
  };

  return {
    ...adapter,
    async consume(id) {
      const request = Provider.ctx;
      if (adapter.rotate && model === 'RefreshToken' && request) {
        rotations.set(request, id);
        return;
      }
      if (await adapter.consume(id)) return;
      // Models other than the redeemed ones (a pushed authorization request) keep
      // oidc-provider's behaviour: it has checked `consumed` itself.
      if (label) await refuseReplay(id);
    },
    async upsert(id, payload, expiresIn) {
      const request = Provider.ctx;
      const consumedId = request && rotations.get(request);
      if (!request || !consumedId || !adapter.rotate) return adapter.upsert(id, payload, expiresIn);
      rotations.delete(request);
      if (!(await adapter.rotate(consumedId, id, payload, expiresIn))) await refuseReplay(consumedId);
    },
  };
}

/** Removes a grant and every token and code issued under it, as oidc-provider's `revoke` does. */
async function revokeGrant(factory: AdapterFactory, grantId: string) {
  await Promise.all([
    ...GRANT_MODELS.map((model) => factory(model).revokeByGrantId(grantId)),
    factory('Grant').destroy(grantId),
  ]);
}
