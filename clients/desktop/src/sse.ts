// An incremental Server-Sent Events parser, as the HTML standard's "Parsing an event stream"
// (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation)
// describes it. Pure: bytes in, items out; holding the connection is events.ts's job.

/** What a stream says, in order: events, a new reconnection delay, and comments (heartbeats). */
export type SseItem =
  | { type: 'message'; event: string; data: string; lastEventId: string }
  | { type: 'retry'; milliseconds: number }
  | { type: 'comment'; text: string };

/** One connection's parser. Feed it chunks as they arrive, split anywhere. */
export interface SseParser {
  /** Parses a chunk (bytes, split even inside a UTF-8 character, or text) and returns what it completed. */
  push(chunk: Uint8Array | string): SseItem[];
  /** The last event ID seen so far, to send as `Last-Event-ID` on reconnect. */
  readonly lastEventId: string;
}

/**
 * A parser for one connection. `lastEventId` carries the previous connection's over, as the
 * standard keeps it across reconnects; the rest (a half line, a half event) starts empty.
 */
export function createSseParser(options: { lastEventId?: string } = {}): SseParser {
  // TextDecoder strips one leading BOM and keeps a character split across chunks for the next.
  const decoder = new TextDecoder('utf-8');
  let buffer = '';
  // A CR ended the last chunk: if the next starts with LF, that LF belongs to the same CRLF.
  let skipLeadingLf = false;
  let lastEventId = options.lastEventId ?? '';
  let idBuffer = lastEventId;
  let eventType = '';
  let data = '';

  function line(text: string, items: SseItem[]): void {
    if (text === '') {
      // Dispatch (§9.2.6): an event without data is dropped, but its id still counts.
      lastEventId = idBuffer;
      if (data !== '') items.push({ type: 'message', event: eventType || 'message', data: data.slice(0, -1), lastEventId });
      data = '';
      eventType = '';
      return;
    }
    if (text.startsWith(':')) {
      items.push({ type: 'comment', text: text.slice(1).replace(/^ /, '') });
      return;
    }
    const colon = text.indexOf(':');
    const field = colon === -1 ? text : text.slice(0, colon);
    const value = colon === -1 ? '' : text.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') eventType = value;
    else if (field === 'data') data += `${value}\n`;
    else if (field === 'id' && !value.includes('\0')) idBuffer = value;
    else if (field === 'retry' && /^[0-9]+$/.test(value)) items.push({ type: 'retry', milliseconds: Number(value) });
    // Any other field is ignored, as the standard says.
  }

  return {
    push(chunk) {
      let text = typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
      if (text === '') return [];
      if (skipLeadingLf && text.startsWith('\n')) text = text.slice(1);
      skipLeadingLf = text.endsWith('\r');
      buffer += text;
      const items: SseItem[] = [];
      // Lines end in CRLF, LF or CR; the last piece has no ending yet and waits for more.
      const lines = buffer.split(/\r\n|\n|\r/);
      buffer = lines.pop() ?? '';
      for (const complete of lines) line(complete, items);
      return items;
    },
    get lastEventId() {
      return lastEventId;
    },
  };
}
