import type { Adapter, AdapterPayload } from 'oidc-provider';

export type { Adapter, AdapterPayload };

/** Builds the storage adapter for one oidc-provider model ("Session", "RefreshToken", …). */
export type AdapterFactory = (model: string) => Adapter;
