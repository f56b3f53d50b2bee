import type { Knex } from 'knex';

/**
 * Audit event types. Every authentication and administrative act leaves one; the details never
 * hold a password, code, secret or token.
 */
export type AuditType =
  | 'login.password.succeeded'
  | 'login.password.failed'
  | 'user.created'
  | 'user.locked'
  | 'user.unlocked'
  | 'user.password.rehashed'
  | 'user.password.set'
  | 'ip.throttled'
  | 'client.created'
  | 'client.removed'
  | 'sp.added'
  | 'sp.removed'
  | 'saml.request_refused'
  | 'saml.logout'
  | 'saml.logout_refused'
  | 'saml.response_sent'
  | 'saml.error_response_sent'
  | 'keys.rotated'
  | 'logout'
  | 'login.second_factor.succeeded'
  | 'login.second_factor.failed'
  | 'factor.locked'
  | 'factor.enrolment_locked'
  | 'factor.unlocked'
  | 'factor.bound'
  | 'factor.bind_failed'
  | 'factor.resynced'
  | 'factor.enrolled'
  | 'factor.removed'
  | 'factor.renamed'
  | 'factor.counter_regressed'
  | 'code_viewer.imported'
  | 'code_viewer.reset'
  | 'code_viewer.marked'
  | 'access_pass.issued'
  | 'access_pass.redeemed'
  | 'access_pass.failed'
  | 'access_pass.revoked'
  | 'factor.first_enrolled'
  | 'identity.verified'
  | 'identity.verification_failed'
  | 'user.attribute.set'
  | 'factor.default_set'
  | 'selfservice.login'
  | 'selfservice.logout'
  | 'pairing_code.issued'
  | 'pairing_code.failed'
  | 'device.registered'
  | 'device.paired'
  | 'device.unregistered'
  | 'device.revoked'
  | 'device.locked'
  | 'device.unlocked'
  | 'device.listed'
  | 'device.push_subscribed'
  | 'device.push_unsubscribed'
  | 'challenge.sent'
  | 'challenge.approved'
  | 'challenge.rejected';

/** Who acts and from where: what every act that is audited carries (`user:<id>`, `cli`, `system`, `device:<id>`). */
export interface ActContext {
  actor: string;
  ip?: string | undefined;
  clientId?: string | undefined;
  requestId?: string | undefined;
}

/** What happened, to whom, by whom, from where. */
export interface AuditEvent {
  type: AuditType;
  /** Who did it: `user:<id>`, `cli`, `system`. */
  actor?: string;
  userId?: string | null;
  username?: string | null;
  clientId?: string | null;
  ip?: string | null;
  requestId?: string | null;
  details?: Record<string, unknown>;
}

export interface StoredAuditEvent extends AuditEvent {
  id: number;
  occurredAt: Date;
}

export interface AuditLog {
  record(event: AuditEvent, trx?: Knex.Transaction): Promise<void>;
  /** The newest events first, optionally of one user or type. */
  list(filter?: { userId?: string; type?: AuditType; types?: readonly AuditType[]; limit?: number }): Promise<StoredAuditEvent[]>;
}

/**
 * An {@link AuditLog} on the append-only `audit_events` table. `onRecorded` hears of every event
 * once it is written (the metrics count them); inside a transaction that later rolls back it has
 * still heard of it.
 */
export function createAuditLog(db: Knex, onRecorded: (event: AuditEvent) => void = () => {}): AuditLog {
  return {
    async record(event, trx) {
      await (trx ?? db)('audit_events').insert({
        type: event.type,
        actor: event.actor ?? null,
        user_id: event.userId ?? null,
        username: event.username ?? null,
        client_id: event.clientId ?? null,
        ip: event.ip ?? null,
        request_id: event.requestId ?? null,
        details: JSON.stringify(event.details ?? {}),
      });
      onRecorded(event);
    },
    async list(filter = {}) {
      const query = db('audit_events').orderBy('id', 'desc').limit(filter.limit ?? 100);
      if (filter.userId) query.where({ user_id: filter.userId });
      if (filter.type) query.where({ type: filter.type });
      if (filter.types) query.whereIn('type', filter.types);
      const rows = (await query) as Array<Record<string, unknown>>;
      return rows.map((row) => ({
        id: Number(row.id),
        occurredAt: row.occurred_at as Date,
        type: row.type as AuditType,
        actor: row.actor as string,
        userId: row.user_id as string | null,
        username: row.username as string | null,
        clientId: row.client_id as string | null,
        ip: row.ip as string | null,
        requestId: row.request_id as string | null,
        details: row.details as Record<string, unknown>,
      }));
    },
  };
}
