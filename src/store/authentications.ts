import type { ShortLivedStore } from './short-lived/types.ts';

/**
 * What a login has proven, and when (epoch seconds): the record the SSO session keeps
 * (`sessions/`) and each login in progress keeps. Defined here, below the rules that read it
 * (`auth/step-up.ts`), so the store imports no domain module.
 */
export interface SessionAuthentication {
  accountId: string;
  passwordAt: number;
  /** When a second factor was last used, and what it proved (RFC 8176 `amr`). */
  secondFactorAt?: number | undefined;
  secondFactorAmr?: string[] | undefined;
}

/**
 * What a login in progress has proven so far (the password, before the second factor), kept per
 * flow; short-lived and shared by every node. The SSO session itself is `sessions/`.
 */
export interface AuthenticationStore {
  forFlow(flowUid: string): Promise<SessionAuthentication | undefined>;
  saveForFlow(flowUid: string, authentication: SessionAuthentication, ttlSeconds: number): Promise<void>;
}

export function createAuthenticationStore(store: ShortLivedStore): AuthenticationStore {
  const key = (uid: string) => `authn:flow:${uid}`;
  return {
    async forFlow(uid) {
      const json = await store.get(key(uid));
      return json ? (JSON.parse(json) as SessionAuthentication) : undefined;
    },
    saveForFlow: (uid, authentication, ttlSeconds) => store.set(key(uid), JSON.stringify(authentication), ttlSeconds * 1000),
  };
}
