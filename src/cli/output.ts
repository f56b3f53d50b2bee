/**
 * Where a command tells the operator what it did. Commands write human-readable lines here and
 * return a result object; under `--json` main drops the lines and prints the result instead.
 */
export interface Output {
  /** A line of text for stdout (dropped under `--json`). */
  line(text: string): void;
  /** A warning for stderr, shown in both modes (it is not part of the result). */
  notice(text: string): void;
}

/** Something to write text to: `process.stdout`, or a test's buffer. */
export interface TextSink {
  write(text: string): unknown;
}

/** An {@link Output} over stdout and stderr; `json` drops the lines. */
export function createOutput(options: { stdout: TextSink; stderr: TextSink; json: boolean }): Output {
  return {
    line(text) {
      if (!options.json) options.stdout.write(`${text}\n`);
    },
    notice(text) {
      options.stderr.write(`stepup: note: ${text}\n`);
    },
  };
}

/** An {@link Output} that keeps every line, for tests that call a command directly. */
export function collectOutput(): Output & { lines: string[]; notices: string[] } {
  const lines: string[] = [];
  const notices: string[] = [];
  return {
    lines,
    notices,
    line: (text) => void lines.push(text),
    notice: (text) => void notices.push(text),
  };
}
