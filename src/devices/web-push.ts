/**
 * The Web Push gateway: tells an app by push that a challenge waits for it (RFC 8030), the
 * payload encrypted to the subscription's keys (RFC 8291, `aes128gcm` of RFC 8188) and the
 * request signed with the IdP's VAPID key (RFC 8292). `web-push` does the encryption and the
 * signing; this file decides what is sent and what a refusal means.
 */
import type { Agent } from 'node:https';

import type { Logger } from 'pino';

import type { PushGateway, PushMessage, PushSubscription } from './push-gateway.ts';

/** Options of {@link createWebPushGateway}. */
export interface WebPushGatewayOptions {
  /** The VAPID identity (RFC 8292): `subject` is a `mailto:` or https URL the push service can reach the operator at; the keys are base64url as `web-push` takes them (`crypto/vapid-keys.ts`). */
  vapid: { subject: string; publicKey: string; privateKey: string };
  /**
   * How long the push service keeps a message it cannot deliver yet (RFC 8030 §5.2 `TTL`), in
   * seconds. Defaults to 180, the challenge lifetime: a push delivered later would only announce
   * an expired challenge.
   */
  ttlSeconds?: number;
  /** How long to wait for the push service, in milliseconds. Defaults to 10 000. */
  timeoutMs?: number;
  /** The HTTPS agent for requests to push services: a forward proxy's, or one trusting a private CA. Defaults to Node's global agent. */
  agent?: Agent;
  log: Logger;
}

/**
 * RFC 8030 §7.3: a push service answers 404 or 410 for a subscription that has expired or was
 * removed (the app was uninstalled, the user withdrew permission); sending to it again is useless.
 */
const GONE_STATUSES: ReadonlySet<number> = new Set([404, 410]);

/**
 * What may be logged of a failed send: the push service's origin and `status` (its answer, when
 * it gave one), never the endpoint's path (a capability) or the keys.
 */
function describeFailure(subscription: PushSubscription, error: unknown, status: number | undefined): Record<string, unknown> {
  const code = (error as { code?: unknown }).code;
  let origin: string | undefined;
  try {
    origin = new URL(subscription.endpoint).origin;
  } catch {
    origin = undefined;
  }
  return {
    origin,
    ...(status !== undefined ? { status } : {}),
    ...(typeof code === 'string' ? { code } : {}),
    // WebPushError's message is generic; other errors (network, a malformed key) name no secret.
    ...(status === undefined ? { reason: (error as Error).message } : {}),
  };
}

/**
 * A {@link PushGateway} over Web Push. A message carries only `{ type, challengeId }`: the code,
 * the number and the relying party's name stay behind the signed device API, so neither the push
 * service nor anyone who reads the notification learns them. Urgency is `high` (RFC 8030 §5.3): a
 * person is waiting at a login. Sending never throws into the login: a refusal resolves
 * `{ delivered: false }`, with `gone: true` when the subscription is dead and should be cleared.
 * `web-push` is imported at the first push: with the ASN.1 and JWS libraries it brings it is heap
 * a node at rest, or one whose devices are all computers, does not need (issue 10's memory goal).
 */
export function createWebPushGateway(options: WebPushGatewayOptions): PushGateway {
  const { vapid, log } = options;
  const subject = URL.canParse(vapid.subject) ? new URL(vapid.subject) : undefined;
  if (subject?.protocol !== 'mailto:' && subject?.protocol !== 'https:') {
    throw new Error('createWebPushGateway: the VAPID subject must be a mailto: or https: URL (RFC 8292 §2.1)');
  }
  const requestOptions = {
    vapidDetails: vapid,
    TTL: options.ttlSeconds ?? 180,
    urgency: 'high',
    contentEncoding: 'aes128gcm',
    timeout: options.timeoutMs ?? 10_000,
    ...(options.agent ? { agent: options.agent } : {}),
  } as const;

  async function sendWebPush(subscription: PushSubscription, message: PushMessage) {
    // Built member by member, so nothing a caller adds to the message travels.
    const payload: PushMessage = { type: message.type, challengeId: message.challengeId };
    const { default: webPush } = await import('web-push');
    try {
      await webPush.sendNotification({ endpoint: subscription.endpoint, keys: subscription.keys }, JSON.stringify(payload), requestOptions);
      return { delivered: true, gone: false };
    } catch (error) {
      const status = error instanceof webPush.WebPushError ? error.statusCode : undefined;
      const failure = describeFailure(subscription, error, status);
      if (status !== undefined && GONE_STATUSES.has(status)) {
        log.info({ push: { ...failure, challengeId: message.challengeId } }, 'push subscription gone');
        return { delivered: false, gone: true };
      }
      log.warn({ push: { ...failure, challengeId: message.challengeId } }, 'push not delivered');
      return { delivered: false, gone: false };
    }
  }

  return { name: 'webpush', send: sendWebPush };
}
