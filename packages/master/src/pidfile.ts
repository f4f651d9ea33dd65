// The PID file: written after the listeners are bound, removed on a clean exit.
import { writeFileSync, readFileSync, unlinkSync } from 'node:fs';

export function writePidFile(path: string): void {
  writeFileSync(path, `${process.pid}\n`, { mode: 0o644 });
}

/** Removes the PID file only when it still names this process, so a successor's file survives. */
export function removePidFile(path: string): void {
  try {
    if (readFileSync(path, 'utf8').trim() === String(process.pid)) unlinkSync(path);
  } catch {
    // Already gone: nothing to clean up.
  }
}

/** Reads a master PID from a PID file; throws with the path and the fix when it cannot. */
export function readPidFile(path: string): number {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`Cannot read PID file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}. Is the cluster running with --pid-file ${path}?`);
  }
  const pid = Number(text.trim());
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`PID file ${path} does not contain a process id: ${JSON.stringify(text.trim())}.`);
  return pid;
}
