/**
 * The device API's bodies as JSON Schema 2020-12: one source for the checks each request's body
 * passes (ajv) and for the OpenAPI 3.1 document (`openapi.ts`), whose Schema Object is JSON
 * Schema 2020-12 (OpenAPI 3.1.0 §4.8.24). Request schemas refuse unknown members, so a client's
 * typo is a clear 400 naming the member instead of a silently ignored field.
 */
import { Ajv2020, type ErrorObject } from 'ajv/dist/2020.js';

import type { DeviceKind, DevicePublicKey } from '../store/devices.ts';

const BASE64URL_32_BYTES = '^[A-Za-z0-9_-]{43}$';

const publicKey = {
  type: 'object',
  description: 'The device\'s public key as a JWK (RFC 7517): EC P-256, made on the device. Never the private part.',
  required: ['kty', 'crv', 'x', 'y'],
  additionalProperties: false,
  properties: {
    kty: { const: 'EC' },
    crv: { const: 'P-256' },
    x: { type: 'string', pattern: BASE64URL_32_BYTES, description: 'base64url of the 32-byte x coordinate' },
    y: { type: 'string', pattern: BASE64URL_32_BYTES, description: 'base64url of the 32-byte y coordinate' },
  },
} as const;

const pairingCode = {
  type: 'string',
  minLength: 1,
  maxLength: 40,
  description: 'The pairing code from IT, `XXXXX-XXXXX`; any case, spaces and dashes ignored.',
} as const;

const kind = { enum: ['desktop', 'app'], description: '`desktop` (computer or terminal) or `app` (phone or tablet).' } as const;
const uuid = { type: 'string', format: 'uuid' } as const;
const isoTime = { type: 'string', format: 'date-time' } as const;

/** The request bodies, by name. */
export const REQUEST_SCHEMAS = {
  RegisterRequest: {
    type: 'object',
    required: ['pairingCode', 'kind', 'name', 'publicKey', 'pin', 'proof'],
    additionalProperties: false,
    properties: {
      pairingCode,
      kind,
      name: {
        type: 'string',
        minLength: 1,
        maxLength: 60,
        // Something visible, and no control characters.
        pattern: '^(?=.*\\S)[^\\p{Cc}]*$',
        description: 'The name the user gives the device, 1 to 60 characters.',
      },
      publicKey,
      pin: {
        type: 'string',
        maxLength: 64,
        description: 'The PIN the user chose: 4 digits on a desktop, 6 in an app; not one digit repeated, not a straight run (1234, 4321). Refused with `pin_rejected`.',
      },
      proof: {
        type: 'string',
        pattern: '^[A-Za-z0-9_-]{86}$',
        description: 'base64url of the ECDSA P-256/SHA-256 signature (IEEE P1363, r||s) by the new key over `stepup-device-v1-register\\n<pairingCode>\\n<x>\\n<y>`.',
      },
    },
  },
  PairRequest: {
    type: 'object',
    required: ['pairingCode'],
    additionalProperties: false,
    properties: { pairingCode },
  },
  ApproveRequest: {
    type: 'object',
    required: ['pin'],
    additionalProperties: false,
    properties: {
      pin: { type: 'string', maxLength: 64, description: 'The device\'s PIN.' },
      number: { type: 'string', pattern: '^[0-9]{2}$', description: 'In number-matching mode: the number shown in the browser.' },
    },
  },
  RejectRequest: { type: 'object', additionalProperties: false, properties: {} },
  PushSubscriptionRequest: {
    type: 'object',
    description: 'An app\'s Web Push subscription as `PushSubscription.toJSON()` gives it (W3C Push API), made with the `applicationServerKey` from `push/vapid-public-key`.',
    required: ['endpoint', 'keys'],
    additionalProperties: false,
    properties: {
      endpoint: { type: 'string', pattern: '^https://', maxLength: 2048, description: 'The push service\'s URL for this app (https, RFC 8030).' },
      // What toJSON() gives; unused: the push service's 404 or 410 says when a subscription ended.
      expirationTime: { type: ['number', 'null'], description: 'Accepted as the browser gives it; not used.' },
      keys: {
        type: 'object',
        required: ['p256dh', 'auth'],
        additionalProperties: false,
        properties: {
          p256dh: { type: 'string', pattern: '^[A-Za-z0-9_-]{87}$', description: 'base64url of the app\'s uncompressed P-256 ECDH public key (65 bytes, RFC 8291 §2).' },
          auth: { type: 'string', pattern: '^[A-Za-z0-9_-]{22}$', description: 'base64url of the 16-byte authentication secret (RFC 8291 §2).' },
        },
      },
    },
  },
} as const;

/** The response bodies, by name (documentation only: the server builds them). */
export const RESPONSE_SCHEMAS = {
  RegisterResponse: {
    type: 'object',
    required: ['deviceId', 'status'],
    properties: { deviceId: uuid, status: { const: 'pending' } },
  },
  PairResponse: {
    type: 'object',
    required: ['deviceId', 'status', 'userName'],
    properties: { deviceId: uuid, status: { const: 'active' }, userName: { type: 'string' } },
  },
  Challenge: {
    type: 'object',
    required: ['id', 'clientName', 'code', 'numberMatching', 'createdAt', 'expiresAt', 'status'],
    properties: {
      id: { type: 'string' },
      clientName: { type: 'string', description: 'The system the user is logging in to.' },
      code: { type: 'string', minLength: 4, maxLength: 4, description: 'Shown in the browser and on the device, to compare.' },
      numberMatching: { type: 'boolean', description: 'Whether approval needs the number shown in the browser (it is never in this response).' },
      createdAt: isoTime,
      expiresAt: isoTime,
      status: { enum: ['pending', 'approved', 'rejected', 'expired'] },
    },
  },
  ChallengeList: {
    type: 'object',
    required: ['challenges'],
    properties: { challenges: { type: 'array', items: { $ref: '#/components/schemas/Challenge' } } },
  },
  ApproveResponse: { type: 'object', required: ['status'], properties: { status: { const: 'approved' } } },
  RejectResponse: { type: 'object', required: ['status'], properties: { status: { const: 'rejected' } } },
  UnregisterResponse: { type: 'object', required: ['status'], properties: { status: { const: 'revoked' } } },
  PushSubscriptionResponse: { type: 'object', required: ['status'], properties: { status: { enum: ['subscribed', 'unsubscribed'] } } },
  VapidPublicKey: {
    type: 'object',
    required: ['publicKey'],
    properties: {
      publicKey: { type: 'string', pattern: '^[A-Za-z0-9_-]{87}$', description: 'base64url of the IdP\'s uncompressed P-256 VAPID public key (RFC 8292 §3.2), the `applicationServerKey` to subscribe with.' },
    },
  },
  Error: {
    type: 'object',
    required: ['error', 'message'],
    properties: {
      error: {
        enum: ['invalid_request', 'payload_too_large', 'invalid_signature', 'replayed', 'stale_timestamp', 'unknown_device', 'device_locked', 'device_revoked',
          'invalid_pairing_code', 'pin_rejected', 'wrong_pin', 'wrong_number', 'not_found', 'challenge_expired', 'challenge_closed',
          'too_many_requests', 'service_unavailable', 'server_error'],
        description: 'A stable code to switch on.',
      },
      message: { type: 'string', description: 'For a person; for `invalid_request` it names the failing member.' },
      triesLeft: { type: 'integer', description: 'With `wrong_pin` and `wrong_number`.' },
      lockedUntil: isoTime,
      request_id: { type: 'string', description: 'The reference to quote to IT support.' },
    },
  },
  PublicKey: publicKey,
} as const;

/** The name of a request body's schema. */
export type RequestSchemaName = keyof typeof REQUEST_SCHEMAS;

/** The bodies as the handlers see them once their schema has passed. */
export interface RequestBodies {
  RegisterRequest: { pairingCode: string; kind: DeviceKind; name: string; publicKey: DevicePublicKey; pin: string; proof: string };
  PairRequest: { pairingCode: string };
  ApproveRequest: { pin: string; number?: string };
  RejectRequest: Record<string, never>;
  PushSubscriptionRequest: { endpoint: string; expirationTime?: number | null; keys: { p256dh: string; auth: string } };
}

/** The check of one body: the body typed, or a sentence naming the first failing member. */
export type BodyCheck<N extends RequestSchemaName> = { ok: true; body: RequestBodies[N] } | { ok: false; message: string };

/** One sentence for an ajv error, naming the member: `/name must NOT have more than 60 characters`. */
function describe(error: ErrorObject): string {
  const where = error.instancePath || '(body)';
  const params = error.params as { additionalProperty?: string; missingProperty?: string; allowedValues?: unknown[]; allowedValue?: unknown };
  if (params.additionalProperty) return `${where} has an unknown member "${params.additionalProperty}"`;
  if (params.allowedValues) return `${where} must be one of ${params.allowedValues.map((value) => JSON.stringify(value)).join(', ')}`;
  if (params.allowedValue !== undefined) return `${where} must be ${JSON.stringify(params.allowedValue)}`;
  return `${where} ${error.message ?? 'is invalid'}`;
}

/** Checks request bodies against {@link REQUEST_SCHEMAS}; compiled once per instance. */
export function createBodyValidator(): <N extends RequestSchemaName>(name: N, body: unknown) => BodyCheck<N> {
  // Formats are documentation here (responses); requests use patterns. Strict mode catches typos in the schemas.
  const ajv = new Ajv2020({ allErrors: false, strict: true, validateFormats: false });
  const validators = Object.fromEntries(Object.entries(REQUEST_SCHEMAS).map(([name, schema]) => [name, ajv.compile(schema)]));
  return (name, body) => {
    const validate = validators[name];
    if (!validate) throw new Error(`no schema ${name}`);
    if (validate(body)) return { ok: true, body: body as RequestBodies[typeof name] };
    const [first] = validate.errors ?? [];
    return { ok: false, message: first ? describe(first) : 'the body is invalid' };
  };
}
