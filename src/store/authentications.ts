import type { SessionAuthentication } from '../auth/step-up.ts';
import type { ShortLivedStore } from './short-lived/types.ts';

/**
 * What each SSO session has proven and when, beside oidc-provider's session (which keeps one
 * login time, not one per factor); and what a login in progress has proven so far (the
 * password, before the second factor). Both are short-lived and shared by every node.
 */
export interface AuthenticationStore {
  forSession(sessionUid: string): Promise<SessionAuthentication | undefined>;
  saveForSession(sessionUid: string, authentication: SessionAuthentication, ttlSeconds: number): Promise<void>;
  forFlow(flowUid: string): Promise<SessionAuthentication | undefined>;
  saveForFlow(flowUid: string, authentication: SessionAuthentication, ttlSeconds: number): Promise<void>;
}

export function createAuthenticationStore(store: ShortLivedStore): AuthenticationStore {
  const read = async (key: string) => {
    const json = await store.get(key);
    return json ? (JSON.parse(json) as SessionAuthentication) : undefined;
  };
  const write = (key: string, authentication: SessionAuthentication, ttlSeconds: number) =>
    store.set(key, JSON.stringify(authentication), ttlSeconds * 1000);
  return {
    forSession: (uid) => read(`authn:session:${uid}`),
    saveForSession: (uid, authentication, ttl) => write(`authn:session:${uid}`, authentication, ttl),
    forFlow: (uid) => read(`authn:flow:${uid}`),
    saveForFlow: (uid, authentication, ttl) => write(`authn:flow:${uid}`, authentication, ttl),
  };
}
