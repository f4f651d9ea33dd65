// Flag tables for the CLI commands. Each command declares its flags once, with unit, default and
// help group. The same table registers them with yargs and rejects unknown flags with the
// closest known flag as a suggestion, the way unknown configuration keys are rejected.
import type { Argv, Options } from 'yargs';
import { closestName } from '@aerys-cluster/shared';

export interface FlagSpec {
  type: 'string' | 'number' | 'boolean';
  describe: string;
  /** Unit of the value, printed in the help after the description ("milliseconds", "bytes"). */
  unit?: string;
  /** Value the command sees when the flag is not given. */
  default?: string | number | boolean;
  /** Default as the help prints it. A flag with neither is unset unless given. */
  defaultText?: string;
  alias?: string;
  array?: boolean;
  choices?: readonly string[];
  group: string;
}

export type FlagTable = Readonly<Record<string, FlagSpec>>;

/** Help groups shared by all commands, in the order the help prints them. */
export const GROUPS = {
  config: 'Configuration:',
  overrides: 'Overrides (win over the configuration file):',
  target: 'Target (which running cluster):',
  output: 'Output:',
  logging: 'Logging:',
} as const;

/** Flags yargs adds to every command. */
const BUILTIN_FLAGS = ['help', 'h', 'version'];

function camelCase(name: string): string {
  return name.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());
}

function flagText(name: string): string {
  return name.length === 1 ? `-${name}` : `--${name}`;
}

function toYargsOption(spec: FlagSpec): Options {
  const option: Options = {
    type: spec.type,
    describe: spec.unit ? `${spec.describe} (${spec.unit})` : spec.describe,
    group: spec.group,
  };
  if (spec.alias) option.alias = spec.alias;
  if (spec.array) option.array = true;
  if (spec.choices) option.choices = [...spec.choices];
  if (spec.default !== undefined) option.default = spec.default;
  if (spec.defaultText) option.defaultDescription = spec.defaultText;
  return option;
}

/**
 * Returns the error message for the first unknown flag or positional argument in `argv`, or null
 * when every flag is in `flags`. yargs-parser stores `--pid-fil` both as `pid-fil` and `pidFil`;
 * the camel-cased twin of an unknown flag is not reported a second time.
 */
export function unknownFlagMessage(command: string, argv: Record<string, unknown>, flags: FlagTable): string | null {
  const positional = (argv._ as unknown[] | undefined)?.slice(1) ?? [];
  if (positional.length > 0) {
    return `Unexpected argument "${String(positional[0])}" for "${command}": it takes flags only. Run "aerys-cluster ${command} --help" to list them.`;
  }

  const known = new Set<string>(BUILTIN_FLAGS);
  for (const [name, spec] of Object.entries(flags)) {
    known.add(name);
    known.add(camelCase(name));
    if (spec.alias) known.add(spec.alias);
  }

  const unknown = Object.keys(argv).filter((key) => key !== '_' && key !== '$0' && !known.has(key));
  const reported = unknown.find((key) => !unknown.some((other) => other !== key && camelCase(other) === key));
  if (reported === undefined) return null;

  const longNames = Object.keys(flags);
  const suggestion = reported.length > 1 ? closestName(reported, longNames) : undefined;
  const hint = suggestion
    ? ` Did you mean ${flagText(suggestion)}?`
    : ` Known flags: ${longNames.map(flagText).join(', ')}.`;
  return `Unknown flag ${flagText(reported)} for "${command}".${hint} Run "aerys-cluster ${command} --help" for details.`;
}

/** Registers `flags` on a command and rejects any flag outside them. */
export function defineFlags<T>(args: Argv, command: string, flags: FlagTable): Argv<T> {
  for (const [name, spec] of Object.entries(flags)) args.option(name, toYargsOption(spec));
  return args.check((argv) => {
    const message = unknownFlagMessage(command, argv, flags);
    if (message !== null) throw new Error(message);
    return true;
  }) as unknown as Argv<T>;
}
