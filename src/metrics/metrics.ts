/**
 * The IdP's Prometheus metrics (issue "Step 7"), in a registry of this instance's own, so an
 * embedding host's default registry and a second IdP in one process stay apart. Served on the
 * management listener (`MANAGEMENT_PORT`), never on the public port.
 *
 * Counters come from three places: audit events (`audit-counts.ts`: password checks, second
 * factors, lockouts, challenges), the end of each login (both protocols, one place in the
 * interaction pages), and oidc-provider's `grant.success`. Gauges for the database pool and the
 * stores are read when scraped.
 */
import type { Knex } from 'knex';
import type { Context, Middleware } from 'koa';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

import type { Level } from '../auth/levels.ts';
import type { FlowFailure, FlowProtocol } from '../interactions/flow.ts';
import type { AuditEvent } from '../store/audit.ts';
import { countsOf, type Count } from './audit-counts.ts';

/** How a login ended, whatever the protocol: at a level, or failed for a flow reason. */
export type LoginOutcome = { outcome: 'success'; level: Level } | { outcome: FlowFailure };

/** The grant types a label may name; another counts as `other`. */
const GRANT_TYPES = ['authorization_code', 'refresh_token', 'client_credentials', 'urn:ietf:params:oauth:grant-type:device_code'];

export interface IdpMetrics {
  readonly registry: Registry;
  /** Counts what an audit event says; the audit log calls it for every event it records. */
  observeAudit(event: AuditEvent): void;
  loginFinished(outcome: LoginOutcome): void;
  grantIssued(grantType: unknown): void;
  /** Times every request, labelled by its route template (never the path as sent). */
  timing: Middleware;
}

/**
 * Options of {@link createMetrics}: the storage, read when scraped (the metrics are made before
 * the storage opens, as the audit log reports to them).
 */
export interface MetricsOptions {
  /** The knex instance whose pool is reported. */
  db: () => Knex;
  /** Whether each store answers (the readiness check's question). */
  ready: () => Promise<{ database: boolean; shortLived: boolean }>;
}

export function createMetrics(options: MetricsOptions): IdpMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const passwordChecks = new Counter({ name: 'stepup_password_checks_total', help: 'Password checks at login, by outcome.', labelNames: ['outcome'], registers: [registry] });
  const secondFactors = new Counter({ name: 'stepup_second_factor_verifications_total', help: 'Second-factor verifications at login, by kind and outcome.', labelNames: ['kind', 'outcome'], registers: [registry] });
  const lockouts = new Counter({ name: 'stepup_lockouts_total', help: 'Locks and throttles, by what was locked (account, address, factor, device, enrolment).', labelNames: ['what'], registers: [registry] });
  const challenges = new Counter({ name: 'stepup_challenges_total', help: 'Challenges to desktop clients and apps, by outcome.', labelNames: ['outcome'], registers: [registry] });
  const logins = new Counter({ name: 'stepup_logins_total', help: 'Logins that ended (OIDC and SAML), by outcome and level reached.', labelNames: ['outcome', 'level'], registers: [registry] });
  const grants = new Counter({ name: 'stepup_token_grants_total', help: 'Tokens issued at the token endpoint, by grant type.', labelNames: ['grant_type'], registers: [registry] });
  const durations = new Histogram({
    name: 'stepup_http_request_duration_seconds',
    help: 'Request latency by route template (each login step is a route) and method.',
    labelNames: ['route', 'method'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });

  const counters: Record<Count['counter'], Counter<string>> = { password_checks: passwordChecks, second_factor_verifications: secondFactors, lockouts, challenges };

  new Gauge({
    name: 'stepup_db_pool_connections',
    help: 'Database pool connections by state (used, free, pending acquires).',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const pool = (options.db().client as { pool?: TarnPool }).pool;
      this.set({ state: 'used' }, pool?.numUsed() ?? 0);
      this.set({ state: 'free' }, pool?.numFree() ?? 0);
      this.set({ state: 'pending' }, pool?.numPendingAcquires() ?? 0);
    },
  });
  new Gauge({
    name: 'stepup_store_up',
    help: 'Whether a store answers (1) or not (0): the database, and the short-lived store (Redis).',
    labelNames: ['store'],
    registers: [registry],
    async collect() {
      const ready = await options.ready();
      this.set({ store: 'database' }, Number(ready.database));
      this.set({ store: 'short_lived' }, Number(ready.shortLived));
    },
  });

  return {
    registry,
    observeAudit(event) {
      for (const count of countsOf(event)) counters[count.counter].inc(count.labels);
    },
    loginFinished(ended) {
      logins.inc(ended.outcome === 'success' ? { outcome: 'success', level: ended.level } : { outcome: ended.outcome, level: 'none' });
    },
    grantIssued(grantType) {
      grants.inc({ grant_type: typeof grantType === 'string' && GRANT_TYPES.includes(grantType) ? grantType : 'other' });
    },
    async timing(ctx, next) {
      const end = durations.startTimer();
      try {
        await next();
      } finally {
        end({ route: routeOf(ctx), method: ctx.method });
      }
    },
  };
}

/** The tarn pool knex keeps (the parts read here). */
interface TarnPool {
  numUsed(): number;
  numFree(): number;
  numPendingAcquires(): number;
}

/**
 * A bounded label for the request: @koa/router's matched template (`/interaction/:uid/code`),
 * else oidc-provider's route name (`token`, `authorization`), else `other`.
 */
function routeOf(ctx: Context): string {
  const matched = (ctx as Context & { _matchedRoute?: unknown })._matchedRoute;
  if (typeof matched === 'string') return matched;
  const oidcRoute = (ctx as Context & { oidc?: { route?: unknown } }).oidc?.route;
  return typeof oidcRoute === 'string' ? `oidc:${oidcRoute}` : 'other';
}

/** A flow protocol whose ends are counted: a login completed at its level, or failed for its reason. */
export function countedFlows<P extends FlowProtocol>(protocol: P, metrics: Pick<IdpMetrics, 'loginFinished'>): P {
  return {
    ...protocol,
    async complete(ctx, flow, result) {
      await protocol.complete(ctx, flow, result);
      metrics.loginFinished({ outcome: 'success', level: result.level });
    },
    async fail(ctx, flow, reason) {
      await protocol.fail(ctx, flow, reason);
      metrics.loginFinished({ outcome: reason });
    },
  };
}
