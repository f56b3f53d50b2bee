import { CliError } from './errors.ts';

/** Longest first line accepted on stdin; a password is far shorter, a file piped by mistake is not. */
export const MAX_LINE_BYTES = 4096;

/**
 * The first line of `input` without its line ending (`\n` or `\r\n`), or everything if there is
 * no newline. Stops reading at the newline, so a person typing at a terminal is not waiting for
 * end-of-file.
 */
export async function readFirstLine(input: AsyncIterable<Buffer | string>, maxBytes = MAX_LINE_BYTES): Promise<string> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of input) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    const newline = buffer.indexOf(0x0a);
    chunks.push(newline === -1 ? buffer : buffer.subarray(0, newline));
    length += newline === -1 ? buffer.length : newline;
    if (length > maxBytes) throw new CliError('invalid_input', `the first line on stdin is longer than ${maxBytes} bytes`);
    if (newline !== -1) break;
  }
  return Buffer.concat(chunks).toString('utf8').replace(/\r$/, '');
}
