/**
 * Short-lived, shared state: sessions, counters, pending challenges, events between nodes.
 * Redis in production; an in-process map for a single embedded process. Only the operations
 * the IdP needs, each atomic on its own, so every caller behaves the same on both backends.
 */
export interface ShortLivedStore {
  /**
   * `redis` or `memory`, for the start-up notice and readiness; `relay` in a `stepup` command
   * that reaches the embedded server's memory through notices (store/embedded/notices.ts).
   */
  readonly kind: 'redis' | 'memory' | 'relay';
  get(key: string): Promise<string | null>;
  /** The values of several keys, read together (one moment, one round trip), in their order. */
  getMany(...keys: string[]): Promise<Array<string | null>>;
  /** Stores a value; with `ttlMs` it disappears after that long. */
  set(key: string, value: string, ttlMs?: number): Promise<void>;
  /** Stores a value only if the key is absent; true if this call stored it (once-only). */
  setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean>;
  /**
   * Stores a value only if the key is absent and `owner` is present, to expire with `owner` (after
   * `ttlMs` if `owner` never expires); true if this call stored it. Atomic: of racing calls on
   * any node exactly one stores it, and none does once `owner` is gone.
   */
  setIfAbsentAlongside(key: string, value: string, owner: string, ttlMs: number): Promise<boolean>;
  delete(...keys: string[]): Promise<void>;
  /** Adds one and returns the new count; a new counter expires after `ttlMs`. */
  increment(key: string, ttlMs: number): Promise<number>;
  /**
   * As `increment`, unless `guard` is present: then nothing is counted and the answer is null.
   * Atomic: a guard written before the counter is touched is always seen.
   */
  incrementUnless(key: string, ttlMs: number, guard: string): Promise<number | null>;
  /**
   * Takes one off a counter (a reservation made with `increment` and not used up) and returns the
   * new count; a counter that expired meanwhile starts again below zero and expires after `ttlMs`.
   */
  decrement(key: string, ttlMs: number): Promise<number>;
  /** Adds a member to a set, extending the set's life to at least `ttlMs`. */
  addToSet(key: string, member: string, ttlMs: number): Promise<void>;
  setMembers(key: string): Promise<string[]>;
  /** Milliseconds until the key expires; null if it is absent or never expires. */
  ttl(key: string): Promise<number | null>;
  publish(channel: string, message: string): Promise<void>;
  /** Calls `handler` for each message on `channel` until the returned function is called. */
  subscribe(channel: string, handler: (message: string) => void): Promise<() => Promise<void>>;
  /**
   * Whether the backend takes a write with a TTL, as every login needs (a full Redis answers
   * PING but refuses writes); for readiness. Never throws.
   */
  probe(): Promise<boolean>;
  close(): Promise<void>;
}
