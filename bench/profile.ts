import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The parts of a V8 `.cpuprofile` (what `node --cpu-prof` writes) that self time needs. */
interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>;
  /** Microseconds on the monotonic clock (CLOCK_MONOTONIC, as `process.hrtime`). */
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** A stretch of time on the monotonic clock, in microseconds: `process.hrtime.bigint() / 1000n` in any process of this machine. */
export interface Window {
  start: number;
  end: number;
}

/** Now on the monotonic clock V8's profiles use, in microseconds. */
export function monotonicMicros(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

/** One line of a flame graph's summary: a function or a module and its share of the samples. */
export interface Frame {
  name: string;
  selfMs: number;
  percent: number;
}

/**
 * Self time by function and by module, biggest first: what a flame graph's widest leaves show.
 * Percentages are of the busy time: the samples less `(idle)`, the event loop waiting.
 */
export interface ProfileSummary {
  /** Time sampled inside the windows, and how much of it the event loop waited. */
  totalMs: number;
  idleMs: number;
  byFunction: Frame[];
  byModule: Frame[];
}

/**
 * Reads the one `.cpuprofile` in `dir` (a node started with `--cpu-prof-dir=dir`) and sums self
 * time over the samples taken inside `windows` (the loads; not the start-up or the pauses).
 */
export function summarizeProfileDir(dir: string, windows: Window[], top = 15): ProfileSummary {
  const file = readdirSync(dir).find((name) => name.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no .cpuprofile in ${dir}`);
  return summarize(JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile, windows, top);
}

function summarize(profile: CpuProfile, windows: Window[], top: number): ProfileSummary {
  const frames = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
  const byFunction = new Map<string, number>();
  const byModule = new Map<string, number>();
  let totalUs = 0;
  let at = profile.startTime;
  profile.samples.forEach((id, index) => {
    const frame = frames.get(id);
    const us = profile.timeDeltas[index] ?? 0;
    at += us;
    if (!frame || !windows.some((window) => at >= window.start && at <= window.end)) return;
    totalUs += us;
    const module = moduleOf(frame.url, frame.functionName);
    const fn = `${frame.functionName || '(anonymous)'} ${module}${frame.url ? `:${frame.lineNumber + 1}` : ''}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
    byModule.set(module, (byModule.get(module) ?? 0) + us);
  });
  const idleUs = byModule.get('(idle)') ?? 0;
  const rank = (totals: Map<string, number>) => [...totals]
    .filter(([name]) => !name.startsWith('(idle)'))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, us]) => ({ name, selfMs: Math.round(us / 1000), percent: Math.round((1000 * us) / (totalUs - idleUs)) / 10 }));
  return { totalMs: Math.round(totalUs / 1000), idleMs: Math.round(idleUs / 1000), byFunction: rank(byFunction), byModule: rank(byModule) };
}

/** A frame's module: the npm package, our source file, Node's internals, or V8's pseudo-frames ((idle), (garbage collector)). */
function moduleOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
  if (pkg) return pkg;
  if (url.startsWith('node:')) return 'node:internal';
  const own = /\/((?:src|bench|test)\/.+)$/.exec(url)?.[1];
  return own ?? url;
}
