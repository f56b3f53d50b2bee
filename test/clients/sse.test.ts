import { expect } from 'chai';

import { createSseParser, type SseItem } from '../../clients/desktop/src/sse.ts';

/** Feeds `chunks` in order and collects everything the parser completes. */
function parseAll(chunks: Array<string | Uint8Array>, parser = createSseParser()): SseItem[] {
  return chunks.flatMap((chunk) => parser.push(chunk));
}

const STREAM = 'retry: 3000\n\n: heartbeat\n\nevent: challenge\ndata: {"challengeId":"abc","expiresAt":"2030-01-01T00:00:00Z"}\n\n';

describe('stepup-device SSE parser', () => {
  it('reads the device API stream: retry, a heartbeat comment, and a challenge event', () => {
    expect(parseAll([STREAM])).to.deep.equal([
      { type: 'retry', milliseconds: 3000 },
      { type: 'comment', text: 'heartbeat' },
      { type: 'message', event: 'challenge', data: '{"challengeId":"abc","expiresAt":"2030-01-01T00:00:00Z"}', lastEventId: '' },
    ]);
  });

  it('gives the same items whichever byte a chunk ends on, even inside a UTF-8 character or a CRLF', () => {
    const text = `\uFEFF${STREAM.replaceAll('\n', '\r\n')}event: closed\r\ndata: {"reason":"revoked","note":"Æblegrød 🍎"}\r\n\r\n`;
    const bytes = new TextEncoder().encode(text);
    const whole = parseAll([bytes]);
    expect(whole).to.have.length(4);
    expect(whole[3]).to.deep.include({ event: 'closed', data: '{"reason":"revoked","note":"Æblegrød 🍎"}' });
    for (let cut = 1; cut < bytes.length; cut++) {
      expect(parseAll([bytes.subarray(0, cut), bytes.subarray(cut)]), `cut at byte ${cut}`).to.deep.equal(whole);
    }
    expect(parseAll([...bytes].map((byte) => Uint8Array.of(byte))), 'one byte at a time').to.deep.equal(whole);
  });

  it('ends lines at LF, CRLF or a lone CR, and a CR at the end of a chunk does not swallow the next line', () => {
    expect(parseAll(['data: a\r', '\r', 'data: b\r\n', '\r\n', 'data: c\n\n'])).to.deep.equal([
      { type: 'message', event: 'message', data: 'a', lastEventId: '' },
      { type: 'message', event: 'message', data: 'b', lastEventId: '' },
      { type: 'message', event: 'message', data: 'c', lastEventId: '' },
    ]);
  });

  it('joins data lines with LF, strips one space after the colon, and resets the event type after each event', () => {
    expect(parseAll(['event: challenge\ndata:one\ndata:  two\ndata\n\ndata: three\n\n'])).to.deep.equal([
      { type: 'message', event: 'challenge', data: 'one\n two\n', lastEventId: '' },
      { type: 'message', event: 'message', data: 'three', lastEventId: '' },
    ]);
  });

  it('passes heartbeats and other comments on without dispatching anything, even between the lines of an event', () => {
    expect(parseAll([': heartbeat\n', ':\n', 'event: challenge\n: heartbeat\ndata: x\n\n'])).to.deep.equal([
      { type: 'comment', text: 'heartbeat' },
      { type: 'comment', text: '' },
      { type: 'comment', text: 'heartbeat' },
      { type: 'message', event: 'challenge', data: 'x', lastEventId: '' },
    ]);
  });

  it('drops an event without data and one cut off by the end of the connection; a reconnect starts clean', () => {
    const first = createSseParser();
    expect(parseAll(['event: challenge\n\n', 'event: challenge\ndata: half'], first)).to.deep.equal([]);
    // The server's stream ended there; the next connection gets a new parser and the half event is gone.
    expect(parseAll(['data: whole\n\n'], createSseParser({ lastEventId: first.lastEventId }))).to.deep.equal([
      { type: 'message', event: 'message', data: 'whole', lastEventId: '' },
    ]);
  });

  it('keeps the last event id across a reconnect, as Last-Event-ID, and ignores an id holding NUL', () => {
    const first = createSseParser();
    expect(parseAll(['id: 7\ndata: a\n\nid: 8\n\nid: bad\0id\ndata: b\n\n'], first).map((item) => item.type === 'message' && item.lastEventId)).to.deep.equal(['7', '8']);
    expect(first.lastEventId).to.equal('8');
    const second = createSseParser({ lastEventId: first.lastEventId });
    expect(parseAll(['data: c\n\n'], second)).to.deep.equal([{ type: 'message', event: 'message', data: 'c', lastEventId: '8' }]);
  });

  it('takes retry only as ASCII digits, and ignores fields it does not know', () => {
    expect(parseAll(['retry: 250\nretry: soon\nretry: 1.5\nretry:\nfoo: bar\n\n'])).to.deep.equal([{ type: 'retry', milliseconds: 250 }]);
  });
});
