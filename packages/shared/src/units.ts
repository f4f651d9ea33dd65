// Parsers for the two unit-bearing value kinds in the configuration: byte sizes and durations.
// Both accept a plain non-negative integer (bytes, milliseconds) or a string with a unit.

const SIZE_UNITS: Record<string, number> = {
  B: 1,
  KiB: 1024,
  MiB: 1024 * 1024,
  GiB: 1024 * 1024 * 1024,
  TiB: 1024 * 1024 * 1024 * 1024,
};

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60 * 1000,
  h: 60 * 60 * 1000,
};

const SIZE_PATTERN = /^\s*(\d+(?:\.\d+)?)\s*(B|KiB|MiB|GiB|TiB)\s*$/;
const DURATION_PATTERN = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$/;

/** Size strings that the configuration accepts, for error messages. */
export const SIZE_FORMAT = 'an integer number of bytes or a string such as "128KiB", "2MiB", "1GiB"';
/** Duration strings that the configuration accepts, for error messages. */
export const DURATION_FORMAT = 'an integer number of milliseconds or a string such as "500ms", "6s", "2m"';

/** Parses a byte size; returns undefined when the value has no valid form. */
export function parseSize(value: unknown): number | undefined {
  if (typeof value === 'number') {
    return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  }
  if (typeof value !== 'string') return undefined;

  const match = SIZE_PATTERN.exec(value);
  if (!match) return undefined;
  const bytes = Number(match[1]) * (SIZE_UNITS[match[2] ?? 'B'] ?? 1);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

/** Parses a duration into milliseconds; returns undefined when the value has no valid form. */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === 'number') {
    return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  }
  if (typeof value !== 'string') return undefined;

  const match = DURATION_PATTERN.exec(value);
  if (!match) return undefined;
  const ms = Number(match[1]) * (DURATION_UNITS[match[2] ?? 'ms'] ?? 1);
  return Number.isSafeInteger(ms) ? ms : undefined;
}

/** Formats a byte count with the largest binary unit that divides it exactly. */
export function formatSize(bytes: number): string {
  for (const unit of ['TiB', 'GiB', 'MiB', 'KiB']) {
    const factor = SIZE_UNITS[unit] ?? 1;
    if (bytes >= factor && bytes % factor === 0) return `${bytes / factor} ${unit}`;
  }
  return `${bytes} B`;
}

/** Formats milliseconds with the largest unit that divides them exactly. */
export function formatDuration(ms: number): string {
  if (ms >= 1000 && ms % 1000 === 0) return `${ms / 1000} s`;
  return `${ms} ms`;
}
