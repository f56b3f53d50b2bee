import type { Adapter, AdapterPayload } from 'oidc-provider';

export type { Adapter, AdapterPayload };

/**
 * oidc-provider's adapter, except that `consume` says who won. oidc-provider ignores the result
 * of `consume` (it checks `consumed` on the record it read before), so two requests that read a
 * code or refresh token at once would both redeem it; `src/provider/single-redemption.ts` refuses
 * the one told `false`.
 */
export interface StoreAdapter extends Omit<Adapter, 'consume'> {
  /**
   * Marks the record consumed, atomically across every node. True for the one call that did so
   * first; false for every other, and for a record that is not there (expired or revoked).
   */
  consume(id: string): Promise<boolean>;
  /**
   * Consumes `consumedId` and stores its successor `id` as one atomic step, as `consume` then
   * `upsert` would: both happen or neither. True for the one call that consumed it; false, with
   * nothing stored, for every other. Only the durable store has it (a rotated refresh token).
   */
  rotate?(consumedId: string, id: string, payload: AdapterPayload, expiresIn: number | undefined): Promise<boolean>;
  /**
   * The record with the grant it names (`grantId`) as it stands, read together; `grant` is
   * undefined when that grant is gone. Only the durable store has it.
   */
  findWithGrant?(id: string): Promise<{ record: AdapterPayload; grant: AdapterPayload | undefined } | undefined>;
}

/** Builds the storage adapter for one oidc-provider model ("Session", "RefreshToken", …). */
export type AdapterFactory = (model: string) => StoreAdapter;
