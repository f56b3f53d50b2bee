import type { KeyObject } from 'node:crypto';

import { createDeviceApi, type DeviceApi, type DeviceIdentity } from '../api.ts';
import { ClientError, UsageError } from '../errors.ts';
import { readFirstLine, type Input, type Prompter } from '../prompt.ts';
import { importDeviceKey } from '../signing.ts';
import { readActiveState, type DeviceState } from '../state.ts';

/** Lines for the person; under `--json` main drops them and prints the command's result instead. */
export interface Output {
  /** A line for stdout (dropped under `--json`). */
  line(text: string): void;
  /** A note for stderr, shown in both modes: a reconnect, a challenge that went away. */
  notice(text: string): void;
}

/** What every command works with: the state file named by `--state`, the person, the clock. */
export interface CommandContext {
  stateFile: string;
  stdin: Input;
  prompter: Prompter;
  out: Output;
  /** Ctrl-C or SIGTERM: a command stops waiting. */
  signal: AbortSignal;
}

/** A paired device, ready to make signed calls. */
export interface Device {
  state: DeviceState & { deviceId: string };
  api: DeviceApi;
  identity: DeviceIdentity;
}

/** Opens the device in the state file; fails if there is none or it did not finish pairing. */
export async function openDevice(stateFile: string): Promise<Device> {
  const state = await readActiveState(stateFile);
  let key: KeyObject;
  try {
    key = importDeviceKey(state.privateKey);
  } catch (error) {
    throw new ClientError('state_file', `the key in ${stateFile} is unusable: ${(error as Error).message}`, { cause: error });
  }
  return { state, api: createDeviceApi({ server: state.server }), identity: { deviceId: state.deviceId, key } };
}

/**
 * The PIN: the first line of stdin with `--pin-stdin`, else asked at the terminal without echo
 * (twice when it is being chosen). Never from the command line, where `ps` and the shell's history
 * would keep it.
 */
export async function readPin(context: CommandContext, options: { fromStdin: boolean; question: string; confirm?: boolean }): Promise<string> {
  if (options.fromStdin) return readFirstLine(context.stdin);
  if (!context.prompter.terminal) throw new UsageError('no terminal to ask for the PIN: pipe it in with --pin-stdin');
  const pin = await context.prompter.ask(options.question, { secret: true });
  if (options.confirm && (await context.prompter.ask('Type the PIN again: ', { secret: true })) !== pin) {
    throw new ClientError('pin_mismatch', 'the two PINs differ; nothing was registered');
  }
  return pin;
}
