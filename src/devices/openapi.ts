/**
 * The device API's OpenAPI 3.1 document, built from the same schemas the server checks bodies
 * with (`schemas.ts`), so the description cannot drift from what is enforced. Served at
 * `/api/device/v1/openapi.json`; the reference client and the phone app are written against it.
 */
import { REQUEST_SCHEMAS, RESPONSE_SCHEMAS, type RequestSchemaName } from './schemas.ts';
import { MAX_SKEW_SECONDS, NONCE_TTL_SECONDS } from './signature.ts';

/** Where the device API lives below the issuer. */
export const DEVICE_API_PREFIX = '/api/device/v1';

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (name: string) => ({ content: { 'application/json': { schema: ref(name) } } });
const body = (name: RequestSchemaName) => ({ required: true, ...json(name) });
const ok = (description: string, name: string) => ({ description, ...json(name) });
const failure = (description: string) => ({ description, ...json('Error') });

/** What every signed call can be refused with. */
const SIGNED_FAILURES = {
  400: failure('`invalid_request`: the body is not JSON or fails its schema; the message names the member.'),
  401: failure('`invalid_signature`, `stale_timestamp`, `replayed`, `unknown_device` or `device_revoked`.'),
  423: failure('`device_locked`, with `lockedUntil`.'),
};
const signed = [{ deviceSignature: [] }];

const SIGNING = [
  'Every call but `register` and this document is signed with the device\'s private key. Headers:',
  '`Stepup-Device` (the device id), `Stepup-Timestamp` (unix seconds), `Stepup-Nonce` (base64url of 16',
  'random bytes) and `Stepup-Signature`: base64url of the ECDSA P-256/SHA-256 signature in IEEE P1363',
  'form (r||s, 64 bytes) over these lines joined by `\\n`: `stepup-device-v1`, the method in upper case,',
  'the path as sent (with `?query`; under a mounted prefix the full path), the timestamp, the nonce,',
  'and base64url(SHA-256(raw body bytes)) (of the empty string for no body).',
  `The timestamp must be within ±${MAX_SKEW_SECONDS} s of the server's clock; each nonce is accepted once`,
  `(remembered ${NONCE_TTL_SECONDS} s).`,
].join(' ');

/** Builds the OpenAPI 3.1 document for an issuer. */
export function deviceApiDocument(options: { issuer: string }): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'stepup-idp device API',
      version: '1',
      description: `The API the desktop client and the phone app speak: register, pair, receive and answer challenges. ${SIGNING}`,
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    servers: [{ url: options.issuer }],
    paths: {
      [`${DEVICE_API_PREFIX}/register`]: {
        post: {
          operationId: 'register',
          summary: 'Register a new device (not signed; the proof shows the key is held). The device stays pending until paired.',
          requestBody: body('RegisterRequest'),
          responses: {
            201: ok('Registered, pending.', 'RegisterResponse'),
            400: failure('`invalid_request`, `invalid_pairing_code` (wrong, used, expired or of another kind) or `pin_rejected`.'),
            401: failure('`invalid_signature`: the proof does not verify with the key.'),
            429: failure('`too_many_requests`: too many wrong pairing codes from this address; wait a minute.'),
          },
        },
      },
      [`${DEVICE_API_PREFIX}/pair`]: {
        post: {
          operationId: 'pair',
          summary: 'Pair the pending device: consumes its pairing code, once, and activates the device.',
          security: signed,
          requestBody: body('PairRequest'),
          responses: {
            200: ok('Paired.', 'PairResponse'),
            ...SIGNED_FAILURES,
            400: failure('`invalid_request`, or `invalid_pairing_code`.'),
            429: failure('`too_many_requests`.'),
          },
        },
      },
      [`${DEVICE_API_PREFIX}/events`]: {
        get: {
          operationId: 'events',
          summary: 'Server-Sent Events: `challenge` (data `{"challengeId","expiresAt"}`), `closed` (data `{"reason": "revoked"|"locked"|"unregistered"}`, then the stream ends), a `: heartbeat` comment every 15 s, `retry: 3000`. Pending challenges are sent first.',
          security: signed,
          responses: {
            200: { description: 'The event stream.', content: { 'text/event-stream': { schema: { type: 'string' } } } },
            ...SIGNED_FAILURES,
          },
        },
      },
      [`${DEVICE_API_PREFIX}/challenges`]: {
        get: {
          operationId: 'listChallenges',
          summary: 'The device\'s pending challenges (for polling).',
          security: signed,
          responses: { 200: ok('Pending challenges.', 'ChallengeList'), ...SIGNED_FAILURES },
        },
      },
      [`${DEVICE_API_PREFIX}/challenges/{id}`]: {
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        get: {
          operationId: 'readChallenge',
          summary: 'One challenge. In number-matching mode the number is not here; the user reads it in the browser.',
          security: signed,
          responses: { 200: ok('The challenge.', 'Challenge'), ...SIGNED_FAILURES, 404: failure('`not_found`.') },
        },
      },
      [`${DEVICE_API_PREFIX}/challenges/{id}/approve`]: {
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        post: {
          operationId: 'approveChallenge',
          summary: 'Approve with the PIN (and, in number-matching mode, the number).',
          security: signed,
          requestBody: body('ApproveRequest'),
          responses: {
            200: ok('Approved.', 'ApproveResponse'),
            ...SIGNED_FAILURES,
            403: failure('`wrong_pin` or `wrong_number`, with `triesLeft`.'),
            404: failure('`not_found`.'),
            409: failure('`challenge_expired` or `challenge_closed`.'),
          },
        },
      },
      [`${DEVICE_API_PREFIX}/challenges/{id}/reject`]: {
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        post: {
          operationId: 'rejectChallenge',
          summary: 'Reject: the login is refused.',
          security: signed,
          requestBody: body('RejectRequest'),
          responses: {
            200: ok('Rejected.', 'RejectResponse'),
            ...SIGNED_FAILURES,
            404: failure('`not_found`.'),
            409: failure('`challenge_expired` or `challenge_closed`.'),
          },
        },
      },
      [`${DEVICE_API_PREFIX}/device`]: {
        delete: {
          operationId: 'unregister',
          summary: 'Unregister this device: it is revoked and its event streams end.',
          security: signed,
          responses: { 200: ok('Revoked.', 'UnregisterResponse'), ...SIGNED_FAILURES },
        },
      },
      [`${DEVICE_API_PREFIX}/push-subscription`]: {
        put: {
          operationId: 'subscribePush',
          summary: 'An app hands over its Web Push subscription, replacing any before it. A push then carries only `{"type":"challenge","challengeId"}`; the app fetches the challenge signed.',
          security: signed,
          requestBody: body('PushSubscriptionRequest'),
          responses: {
            200: ok('Stored.', 'PushSubscriptionResponse'),
            ...SIGNED_FAILURES,
            400: failure('`invalid_request`: the body fails its schema, the endpoint is not https at a known push service (`PUSH_SERVICE_HOSTS`), `p256dh` is not a P-256 key, or the device is not an app.'),
          },
        },
        delete: {
          operationId: 'unsubscribePush',
          summary: 'An app withdraws its push subscription.',
          security: signed,
          responses: {
            200: ok('Cleared (also when there was none).', 'PushSubscriptionResponse'),
            ...SIGNED_FAILURES,
            400: failure('`invalid_request`: the device is not an app.'),
          },
        },
      },
      [`${DEVICE_API_PREFIX}/push/vapid-public-key`]: {
        get: {
          operationId: 'vapidPublicKey',
          summary: 'The IdP\'s VAPID public key (not signed): the `applicationServerKey` an app subscribes with. When it differs from the one an app subscribed with, the app subscribes again.',
          responses: { 200: ok('The key.', 'VapidPublicKey') },
        },
      },
      [`${DEVICE_API_PREFIX}/openapi.json`]: {
        get: { operationId: 'openapi', summary: 'This document.', responses: { 200: { description: 'OpenAPI 3.1', content: { 'application/json': {} } } } },
      },
    },
    components: {
      schemas: { ...REQUEST_SCHEMAS, ...RESPONSE_SCHEMAS },
      securitySchemes: {
        deviceSignature: { type: 'apiKey', in: 'header', name: 'Stepup-Signature', description: SIGNING },
      },
    },
  };
}
