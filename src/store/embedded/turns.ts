/**
 * Turn-taking at the one PGlite backend. PGlite is a single Postgres session: whoever sends the
 * next message runs inside whatever the previous sender left open. So each connection (the
 * server's own knex, and every `stepup` command on the socket) takes a turn that lasts from its
 * first message until the backend is idle again, and the others wait for it.
 */

/** A frontend message's type byte, or `startup` for the untyped startup packet. */
export type MessageType = string;

/**
 * Whether a connection's turn ends after the backend answered this message: only after a
 * message the backend answers with ReadyForQuery (simple Query `Q`, Sync `S`, FunctionCall `F`,
 * the startup packet), and only outside a transaction block. Between Parse and Sync of an
 * extended query the backend holds the unnamed statement and portal, so another connection
 * slipping in there would replace them (Postgres protocol, "Extended Query", §55.2.3).
 */
export function turnEnds(options: { messageType: MessageType; inTransaction: boolean }): boolean {
  const { messageType, inTransaction } = options;
  return !inTransaction && (messageType === 'Q' || messageType === 'S' || messageType === 'F' || messageType === 'startup');
}

/** One FIFO turn at a time; the holder may take it again without waiting. */
export interface Turns {
  /** Waits until `owner` holds the turn (at once if it already does). */
  take(owner: symbol): Promise<void>;
  /** Passes the turn on if `owner` holds it. */
  give(owner: symbol): void;
  /** Whether `owner` holds the turn now. */
  holds(owner: symbol): boolean;
}

/** Creates the turn-taking for one PGlite instance. */
export function createTurns(): Turns {
  let holder: symbol | undefined;
  const waiting: Array<{ owner: symbol; start: () => void }> = [];
  return {
    async take(owner) {
      if (holder === owner) return;
      if (holder === undefined) {
        holder = owner;
        return;
      }
      await new Promise<void>((start) => waiting.push({ owner, start }));
    },
    give(owner) {
      if (holder !== owner) return;
      const next = waiting.shift();
      holder = next?.owner;
      next?.start();
    },
    holds(owner) {
      return holder === owner;
    },
  };
}
