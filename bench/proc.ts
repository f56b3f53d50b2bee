import { readdirSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';

/** Clock ticks per second of /proc/<pid>/stat's times (USER_HZ, 100 on Linux almost always). */
const TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/**
 * CPU time a process has used so far (user + system, every thread: the event loop and libuv's
 * pool, where argon2 runs), in milliseconds, from /proc/<pid>/stat (proc(5): fields 14 and 15).
 */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces; the fields after it start past its ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1000) / TICKS_PER_SECOND;
}

/**
 * CPU time so far by thread name (/proc/<pid>/task/<tid>/stat): Node's `MainThread` (the event
 * loop), `libuv-worker` (the pool: argon2, crypto jobs), `V8Worker` (the collector's and the
 * compiler's helpers). Where a login's CPU goes beyond its hash.
 */
export function threadCpuMs(pid: number): Record<string, number> {
  const byName: Record<string, number> = {};
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    byName[name] = (byName[name] ?? 0) + ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  }
  return byName;
}

/** Resident set size of a process, in bytes (/proc/<pid>/status, VmRSS). */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
  if (!kib) throw new Error(`no VmRSS for process ${pid}`);
  return Number(kib) * 1024;
}

/**
 * The part of the RSS that is the process's own (RssAnon: heap, stacks, anonymous maps), less
 * the pages of files it maps (the node binary's code, shared by every node process on a host).
 */
export function privateRssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = /^RssAnon:\s+(\d+) kB/m.exec(status)?.[1];
  if (!kib) throw new Error(`no RssAnon for process ${pid}`);
  return Number(kib) * 1024;
}

/** The 1-minute load average (/proc/loadavg). */
export function loadAverage(): number {
  return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
}

/** What the figures were measured on: the results depend on it. */
export interface Machine {
  nproc: number;
  cpuModel: string;
  node: string;
  /** 1-minute load average when the run started and when it ended. */
  loadAtStart: number;
  loadAtEnd?: number;
}

export function describeMachine(): Machine {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const cpuModel = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? cpus()[0]?.model ?? 'unknown';
  return { nproc: cpus().length, cpuModel, node: process.version, loadAtStart: loadAverage() };
}
