// Command-line options of the benchmark runner. Parsing is strict: an unknown flag or a bad
// value is an error that names the flag, the value and the accepted range.
import { availableParallelism } from 'node:os';

/** Settings of each mode; flags given on the command line override them. */
export const MODES = {
  quick: { rounds: 3, duration: 1, warmup: 1, idleConnections: 1000, idleRounds: 1, settleMs: 1000, reloadDuration: 6, reloadRounds: 1 },
  full: { rounds: 5, duration: 10, warmup: 2, idleConnections: 10_000, idleRounds: 3, settleMs: 2000, reloadDuration: 30, reloadRounds: 3 },
};

export const USAGE = `Usage: node bench/run.mjs [--quick | --full] [options]

Runs each scenario against its contenders on 127.0.0.1, round by round (A B C A B C ...),
and prints medians, ratios against the baselines and latency percentiles.

Options:
  --quick                 1 s per cell, 3 rounds, 1,000 idle connections in 1 round,
                          one 6 s reload round (default mode)
  --full                  10 s per cell, 5 rounds, 10,000 idle connections in 3 rounds,
                          three 30 s reload rounds
  --rounds N              Interleaved rounds of the throughput scenarios (1-50)
  --idle-rounds N         Rounds of the idle-connection scenario (1-20)
  --reload-rounds N       Rounds of the reload scenario (1-20)
  --duration S            Seconds of load per cell (1-300)
  --warmup S              Seconds of unmeasured load per contender before round 1 (0-60)
  --workers N             Worker processes of every contender [default: CPU count]
  --connections N         wrk connections for HTTP/1.1 scenarios (1-10000) [default: 50]
  --idle-connections N    Idle keep-alive connections in the memory scenario (100-60000)
  --reload-duration S     Seconds of load in the reload scenario (6-600)
  --scenarios a,b         Only these scenarios (names below)
  --contenders a,b        Only these contenders (names below)
  --json FILE             Also write every measurement as JSON [default: bench/results/latest.json]
  --profile               Record --cpu-prof profiles of aerys-cluster and node:cluster
                          (master and workers) in one round and print where the time goes
  --plan                  Print the scenarios, contenders and estimated time; start nothing
  --help                  This text
`;

const NUMBER_FLAGS = {
  '--rounds': { key: 'rounds', min: 1, max: 50 },
  '--duration': { key: 'duration', min: 1, max: 300 },
  '--warmup': { key: 'warmup', min: 0, max: 60 },
  '--workers': { key: 'workers', min: 1, max: 256 },
  '--connections': { key: 'connections', min: 1, max: 10_000 },
  '--idle-connections': { key: 'idleConnections', min: 100, max: 60_000 },
  '--reload-duration': { key: 'reloadDuration', min: 6, max: 600 },
  '--idle-rounds': { key: 'idleRounds', min: 1, max: 20 },
  '--reload-rounds': { key: 'reloadRounds', min: 1, max: 20 },
};

const LIST_FLAGS = { '--scenarios': 'scenarios', '--contenders': 'contenders' };

export class UsageError extends Error {}

/**
 * Parses the runner's arguments into a settings object. `known` lists the scenario and contender
 * names that `--scenarios` and `--contenders` accept.
 */
export function parseArgs(argv, known) {
  let mode = 'quick';
  const overrides = {};
  const settings = { scenarios: null, contenders: null, json: null, profile: false, plan: false, help: false };

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = () => {
      if (inline !== undefined) return inline;
      const next = argv[++i];
      if (next === undefined || next.startsWith('--')) throw new UsageError(`${flag} needs a value.`);
      return next;
    };

    if (flag === '--quick' || flag === '--full') mode = flag.slice(2);
    else if (flag === '--profile') settings.profile = true;
    else if (flag === '--plan') settings.plan = true;
    else if (flag === '--help' || flag === '-h') settings.help = true;
    else if (flag === '--json') settings.json = value();
    else if (flag in NUMBER_FLAGS) {
      const { key, min, max } = NUMBER_FLAGS[flag];
      overrides[key] = parseInteger(flag, value(), min, max);
    } else if (flag in LIST_FLAGS) {
      const key = LIST_FLAGS[flag];
      settings[key] = parseList(flag, value(), known[key]);
    } else {
      throw new UsageError(`Unknown option ${arg}. Run with --help for the list.`);
    }
  }

  return {
    mode,
    workers: availableParallelism(),
    connections: 50,
    ...MODES[mode],
    ...overrides,
    ...settings,
  };
}

function parseInteger(flag, text, min, max) {
  const number = Number(text);
  if (!Number.isInteger(number) || number < min || number > max) {
    throw new UsageError(`${flag} must be an integer from ${min} to ${max}; got "${text}".`);
  }
  return number;
}

function parseList(flag, text, known) {
  const names = text.split(',').map((name) => name.trim()).filter(Boolean);
  if (names.length === 0) throw new UsageError(`${flag} needs at least one name; known: ${known.join(', ')}.`);
  for (const name of names) {
    if (!known.includes(name)) throw new UsageError(`${flag}: unknown name "${name}"; known: ${known.join(', ')}.`);
  }
  return names;
}
