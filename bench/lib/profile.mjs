// Reads the .cpuprofile files that `node --cpu-prof` writes and lists where each process spent
// its time: self time per function, and per area (Node internals, this project's packages, the
// garbage collector, native code outside JavaScript).
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** Self time in ms per node id of one profile, from its samples and the intervals between them. */
function selfTimes(profile) {
  const times = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    times.set(id, (times.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  }
  return times;
}

/** The area a function belongs to, from its script URL. */
export function areaOf(callFrame) {
  const { url, functionName } = callFrame;
  if (!url) {
    if (functionName === '(garbage collector)') return 'garbage collection';
    if (functionName === '(idle)') return 'idle';
    if (functionName === '(program)') return 'native (outside JavaScript)';
    return 'native (outside JavaScript)';
  }
  if (url.includes('/packages/master/')) return 'aerys-cluster master';
  if (url.includes('/packages/worker/')) return 'aerys-cluster worker';
  if (url.includes('/packages/shared/')) return 'aerys-cluster shared';
  if (url.includes('/bench/servers/')) return 'application';
  if (url.includes('node_modules/pino') || url.includes('node_modules/.pnpm/pino') || url.includes('thread-stream') || url.includes('sonic-boom')) return 'pino';
  if (url.includes('node_modules')) return 'other packages';
  if (url.startsWith('node:internal/cluster') || url.startsWith('node:cluster')) return 'node:cluster';
  if (url.startsWith('node:internal/child_process') || url.startsWith('node:child_process')) return 'node IPC (child_process)';
  if (url.startsWith('node:internal/http') || url.startsWith('node:_http') || url.startsWith('node:http')) return 'node:http';
  if (url.startsWith('node:net') || url.startsWith('node:internal/net') || url.startsWith('node:internal/stream_base')) return 'node:net';
  if (url.startsWith('node:internal/streams') || url.startsWith('node:stream')) return 'node streams';
  if (url.startsWith('node:')) return 'other node internals';
  return 'other';
}

/** Summarizes one profile: busy time (all but idle), time per area, and the top functions by self time. */
export function summarizeProfile(profile, top = 12) {
  const times = selfTimes(profile);
  const byArea = new Map();
  const byFunction = new Map();
  let busy = 0;
  for (const node of profile.nodes) {
    const ms = times.get(node.id) ?? 0;
    if (ms === 0) continue;
    const area = areaOf(node.callFrame);
    if (area === 'idle') continue;
    busy += ms;
    byArea.set(area, (byArea.get(area) ?? 0) + ms);
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url ? `${url.replace(/^.*\/(packages|bench|node_modules)\//, '$1/')}:${lineNumber + 1}` : '';
    const key = `${functionName || '(anonymous)'} ${where}`.trim();
    byFunction.set(key, (byFunction.get(key) ?? 0) + ms);
  }
  const sorted = (map) => [...map.entries()].sort((a, b) => b[1] - a[1]);
  return {
    busyMs: busy,
    areas: sorted(byArea).map(([area, ms]) => ({ area, ms, share: ms / busy })),
    functions: sorted(byFunction).slice(0, top).map(([name, ms]) => ({ name, ms, share: ms / busy })),
  };
}

/** Reads every profile in `dir`; `roles` maps a PID to "master" or "worker" for the headings. */
export function readProfiles(dir, roles) {
  let files;
  try {
    files = readdirSync(dir).filter((file) => file.endsWith('.cpuprofile'));
  } catch {
    return [];
  }
  return files.map((file) => {
    // Node names the file CPU.<date>.<time>.<pid>.<thread>.<sequence>.cpuprofile.
    const pid = Number(file.split('.')[3]);
    return { file: join(dir, file), pid, role: roles.get(pid) ?? 'worker', summary: summarizeProfile(JSON.parse(readFileSync(join(dir, file), 'utf8'))) };
  });
}

/** Renders profile summaries as Markdown: areas and top functions per process. */
export function renderProfiles(title, profiles) {
  const lines = [`#### ${title}`];
  for (const { role, pid, summary } of profiles.sort((a, b) => a.role.localeCompare(b.role))) {
    lines.push('', `${role} (pid ${pid}): ${(summary.busyMs / 1000).toFixed(2)} s busy`, '');
    lines.push('| area | share of busy time |', '| --- | --- |');
    for (const { area, share } of summary.areas.slice(0, 8)) lines.push(`| ${area} | ${(share * 100).toFixed(1)} % |`);
    lines.push('', '| function (self time) | share |', '| --- | --- |');
    for (const { name, share } of summary.functions) lines.push(`| \`${name}\` | ${(share * 100).toFixed(1)} % |`);
  }
  return lines.join('\n');
}
