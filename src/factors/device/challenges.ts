import type { ShortLivedStore } from '../../store/short-lived/types.ts';
import { generateChallengeCode, generateChallengeId, generateMatchNumber, type ChallengeOutcome, type ChallengeRecord } from './challenge-rules.ts';

/** How long a settled or expired challenge stays readable, so a waiting page learns what became of it. */
const AFTERLIFE_MS = 10 * 60 * 1000;

/** The channel a challenge's outcome is announced on, for the pages waiting for it on any node. */
export function challengeChannel(challengeId: string): string {
  return `challenge.${challengeId}`;
}

export interface ChallengeStore {
  /**
   * Creates a challenge, or undefined when the user already has `maxPending` waiting: a slot is
   * claimed atomically (SET NX), so parallel requests cannot exceed it (no push bombing).
   */
  create(input: { userId: string; deviceId: string; flowUid: string; clientName: string; numberMatching: boolean; ttlMs: number }): Promise<ChallengeRecord | undefined>;
  /** The challenge and its outcome so far; `challenge` undefined once forgotten. */
  find(id: string): Promise<{ challenge: ChallengeRecord | undefined; outcome: ChallengeOutcome | undefined }>;
  /**
   * The last challenge a login (`flowUid`) sent to a device and its outcome so far, as `find`
   * gives it; `challenge` undefined when it sent none that has not expired.
   */
  latestForFlow(flowUid: string, deviceId: string): Promise<{ challenge: ChallengeRecord | undefined; outcome: ChallengeOutcome | undefined }>;
  /** The device's challenges not yet settled or expired, oldest first. */
  pendingForDevice(deviceId: string): Promise<ChallengeRecord[]>;
  /** Settles a challenge once, atomically; false when it was settled already. Announced on its channel. */
  settle(challenge: ChallengeRecord, outcome: ChallengeOutcome): Promise<boolean>;
  /** Spends an approval on the login it was made for, once; false when it was spent already. */
  spend(challenge: ChallengeRecord): Promise<boolean>;
  /**
   * Waits for a challenge's outcome, settled on any node (its channel carries it). Resolves with
   * the outcome, or undefined once the challenge expires or `signal` aborts.
   */
  awaitOutcome(challenge: ChallengeRecord, signal: AbortSignal): Promise<ChallengeOutcome | undefined>;
}

/** A challenge as stored: with the pending slot of its user it holds until settled. */
type Stored = ChallengeRecord & { slot: number };

/** The challenge without the store's bookkeeping. */
function withoutSlot({ slot: _slot, ...challenge }: Stored): ChallengeRecord {
  return challenge;
}

/**
 * Challenges in the short-lived store (Redis), shared by every node: the browser waits on one,
 * the device streams from another, the approval lands on a third. Every state change that must
 * happen once (settling, spending, claiming a pending slot) is a SET NX.
 */
export function createChallengeStore(deps: { store: ShortLivedStore; maxPending: number; now: () => number }): ChallengeStore {
  const { store } = deps;
  const key = (id: string) => `challenge:${id}`;
  const slotKey = (userId: string, slot: number) => `challenges:slot:${userId}:${slot}`;
  const deviceKey = (deviceId: string) => `challenges:device:${deviceId}`;
  const flowKey = (flowUid: string, deviceId: string) => `challenges:flow:${flowUid}:${deviceId}`;

  const read = async (id: string) => {
    const json = await store.get(key(id));
    return json ? (JSON.parse(json) as Stored) : undefined;
  };
  const outcomeOf = async (id: string) => (await store.get(`${key(id)}:outcome`)) as ChallengeOutcome | null;
  const lifeLeft = (challenge: ChallengeRecord) => Math.max(1, challenge.expiresAt - deps.now()) + AFTERLIFE_MS;
  const find = async (id: string) => {
    const [stored, outcome] = await Promise.all([read(id), outcomeOf(id)]);
    return { challenge: stored && withoutSlot(stored), outcome: (stored && outcome) || undefined };
  };

  return {
    async create({ userId, deviceId, flowUid, clientName, numberMatching, ttlMs }) {
      const id = generateChallengeId();
      let slot = 0;
      for (let candidate = 1; candidate <= deps.maxPending && !slot; candidate += 1) {
        if (await store.setIfAbsent(slotKey(userId, candidate), id, ttlMs)) slot = candidate;
      }
      if (!slot) return undefined;
      const now = deps.now();
      const challenge: Stored = {
        id, userId, deviceId, flowUid, clientName, code: generateChallengeCode(), createdAt: now, expiresAt: now + ttlMs, slot,
        ...(numberMatching ? { number: generateMatchNumber() } : {}),
      };
      await store.set(key(id), JSON.stringify(challenge), lifeLeft(challenge));
      await store.addToSet(deviceKey(deviceId), id, ttlMs + AFTERLIFE_MS);
      // Only the latest counts: a page reload shows it again rather than sending another.
      await store.set(flowKey(flowUid, deviceId), id, ttlMs);
      return withoutSlot(challenge);
    },

    find,

    async latestForFlow(flowUid, deviceId) {
      const id = await store.get(flowKey(flowUid, deviceId));
      return id ? find(id) : { challenge: undefined, outcome: undefined };
    },

    async pendingForDevice(deviceId) {
      const ids = await store.setMembers(deviceKey(deviceId));
      const found = await Promise.all(ids.map(async (id) => ({ stored: await read(id), outcome: await outcomeOf(id) })));
      return found
        .filter(({ stored, outcome }) => stored && !outcome && stored.expiresAt > deps.now())
        .map(({ stored }) => withoutSlot(stored as Stored))
        .sort((a, b) => a.createdAt - b.createdAt);
    },

    async settle(challenge, outcome) {
      if (!(await store.setIfAbsent(`${key(challenge.id)}:outcome`, outcome, lifeLeft(challenge)))) return false;
      const stored = await read(challenge.id);
      // The slot is free again once its challenge is settled (expiry frees it by itself).
      if (stored && (await store.get(slotKey(challenge.userId, stored.slot))) === challenge.id) await store.delete(slotKey(challenge.userId, stored.slot));
      await store.publish(challengeChannel(challenge.id), outcome);
      return true;
    },

    spend: (challenge) => store.setIfAbsent(`${key(challenge.id)}:spent`, '1', lifeLeft(challenge)),

    async awaitOutcome(challenge, signal) {
      if (signal.aborted) return undefined;
      let finish: (outcome: ChallengeOutcome | undefined) => void = () => {};
      const settled = new Promise<ChallengeOutcome | undefined>((resolve) => {
        finish = resolve;
      });
      const onAbort = () => finish(undefined);
      signal.addEventListener('abort', onAbort, { once: true });
      const expiry = setTimeout(onAbort, Math.max(0, challenge.expiresAt - deps.now()));
      expiry.unref();
      let unsubscribe: (() => Promise<void>) | undefined;
      try {
        // Subscribed before the outcome is read: a settlement in between is heard, not lost.
        unsubscribe = await store.subscribe(challengeChannel(challenge.id), (message) => {
          if (message === 'approved' || message === 'rejected') finish(message);
        });
        const already = await outcomeOf(challenge.id);
        if (already) finish(already);
        return await settled;
      } finally {
        clearTimeout(expiry);
        signal.removeEventListener('abort', onAbort);
        await unsubscribe?.().catch(() => {});
      }
    },
  };
}
