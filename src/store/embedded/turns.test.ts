import { expect } from 'chai';

import { createTurns, turnEnds } from './turns.ts';

describe('embedded turns', () => {
  it('ends a turn only when the backend is idle after a message it answers with ReadyForQuery', () => {
    expect(turnEnds({ messageType: 'Q', inTransaction: false })).to.equal(true);
    expect(turnEnds({ messageType: 'S', inTransaction: false })).to.equal(true);
    expect(turnEnds({ messageType: 'startup', inTransaction: false })).to.equal(true);
    // Inside BEGIN … COMMIT the connection keeps the backend.
    expect(turnEnds({ messageType: 'Q', inTransaction: true })).to.equal(false);
    expect(turnEnds({ messageType: 'S', inTransaction: true })).to.equal(false);
    // Between Parse and Sync the unnamed statement belongs to this connection.
    for (const type of ['P', 'B', 'D', 'E', 'H', 'C']) expect(turnEnds({ messageType: type, inTransaction: false }), type).to.equal(false);
  });

  it('serves owners in the order they asked, and lets the holder take again', async () => {
    const turns = createTurns();
    const [a, b, c] = [Symbol('a'), Symbol('b'), Symbol('c')];
    const order: string[] = [];
    await turns.take(a);
    await turns.take(a);
    const waitB = turns.take(b).then(() => order.push('b'));
    const waitC = turns.take(c).then(() => order.push('c'));
    await Promise.resolve();
    expect(order).to.deep.equal([]);
    turns.give(c); // not the holder: nothing happens
    expect(turns.holds(a)).to.equal(true);
    turns.give(a);
    await waitB;
    expect(turns.holds(b)).to.equal(true);
    turns.give(b);
    await waitC;
    expect(order).to.deep.equal(['b', 'c']);
    turns.give(c);
    expect(turns.holds(c)).to.equal(false);
  });
});
