// Asking the person: a PIN typed at the terminal is not echoed. Without a terminal (a pipe, a
// test), answers are read line by line from stdin instead, with no prompt hidden from anyone.
import { createInterface, type Interface } from 'node:readline';

import { ClientError } from './errors.ts';

/** stdin as main gets it: a readable stream that may be a terminal. */
export interface Input extends NodeJS.ReadableStream {
  isTTY?: boolean;
  setRawMode?(mode: boolean): unknown;
}

/** Something to write to (stderr: prompts never mix with stdout, which `--json` keeps clean). */
export interface Sink {
  write(text: string): unknown;
}

/** Questions to the person at the keyboard, or lines from a pipe. */
export interface Prompter {
  /** Whether a person is at a terminal (otherwise answers come from stdin's lines). */
  readonly terminal: boolean;
  /** Asks, and returns the answer without its line ending; a PIN is asked with `secret`, so it is not echoed. */
  ask(question: string, options?: { secret?: boolean }): Promise<string>;
  /** Lets stdin go, so the process can end. */
  close(): void;
}

/**
 * A prompter over `input` (stdin) writing its questions to `output` (stderr). When `signal`
 * aborts (Ctrl-C, SIGTERM), a question being asked fails as `cancelled`.
 */
export function createPrompter(input: Input, output: Sink, signal: AbortSignal): Prompter {
  if (isTerminal(input)) return terminalPrompter(input, output, signal);
  // Opened at the first question, so `--pin-stdin` (readFirstLine) has stdin to itself otherwise.
  let reader: Interface | undefined;
  let lines: AsyncIterator<string> | undefined;
  return {
    terminal: false,
    async ask(question) {
      output.write(question);
      reader ??= createInterface({ input, crlfDelay: Infinity });
      lines ??= reader[Symbol.asyncIterator]();
      const line = await unlessAborted(lines.next(), signal);
      output.write('\n');
      if (line.done) throw new ClientError('cancelled', 'stdin ended before an answer');
      return line.value;
    },
    close() {
      // Closing the interface stops reading stdin, which would otherwise keep the process alive.
      reader?.close();
      input.pause();
    },
  };
}

function isTerminal(input: Input): input is Input & { setRawMode(mode: boolean): unknown } {
  return input.isTTY === true && typeof input.setRawMode === 'function';
}

/** The first line of stdin, for `--pin-stdin`: no prompt, no echo to think about. */
export async function readFirstLine(input: Input): Promise<string> {
  const lines = createInterface({ input, crlfDelay: Infinity });
  try {
    for await (const line of lines) return line;
  } finally {
    lines.close();
  }
  throw new ClientError('cancelled', 'stdin was empty: --pin-stdin reads the PIN from its first line');
}

/** `promise`, or a `cancelled` failure as soon as `signal` aborts. */
async function unlessAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  let onAbort = () => {};
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => reject(new ClientError('cancelled', 'cancelled'));
  });
  if (signal.aborted) onAbort();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    return await Promise.race([promise, aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/**
 * Reads a line in raw mode, so typed characters are echoed only when they are not secret.
 * Backspace deletes, Enter ends, Ctrl-C or Ctrl-D on an empty line cancels.
 */
function terminalPrompter(input: Input & { setRawMode(mode: boolean): unknown }, output: Sink, signal: AbortSignal): Prompter {
  return {
    terminal: true,
    ask(question, options = {}) {
      output.write(question);
      input.setRawMode(true);
      input.resume();
      let answer = '';
      return new Promise<string>((resolve, reject) => {
        const finish = (error?: ClientError) => {
          signal.removeEventListener('abort', onAbort);
          input.removeListener('data', onData);
          input.setRawMode(false);
          input.pause();
          output.write('\n');
          if (error) reject(error);
          else resolve(answer);
        };
        const onData = (chunk: Buffer | string) => {
          for (const character of chunk.toString()) {
            if (character === '\r' || character === '\n') return finish();
            if (character === '\u0003' || (character === '\u0004' && answer === '')) return finish(new ClientError('cancelled', 'cancelled'));
            if (character === '\u007f' || character === '\b') {
              if (answer !== '' && !options.secret) output.write('\b \b');
              answer = answer.slice(0, -1);
            } else if (character >= ' ') {
              answer += character;
              if (!options.secret) output.write(character);
            }
          }
        };
        const onAbort = () => finish(new ClientError('cancelled', 'cancelled'));
        if (signal.aborted) return onAbort();
        signal.addEventListener('abort', onAbort, { once: true });
        input.on('data', onData);
      });
    },
    close() {
      input.pause();
    },
  };
}
