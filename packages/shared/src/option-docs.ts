// Renders the configuration schema (OPTIONS in options.ts) as text for people: the default, type
// and range of each option for CLI help, and the option tables of docs/configuration.md. The docs
// generator and the docs test both call renderOptionReference, so docs that drift from the schema
// fail the test.
import { OPTIONS, type OptionSpec } from './options.js';
import { formatDuration, formatSize } from './units.js';

const TYPE_TEXT: Record<OptionSpec['kind'], string> = {
  integer: 'integer',
  size: 'size (bytes)',
  duration: 'duration (ms)',
  boolean: 'boolean',
  string: 'string',
  path: 'path',
  enum: 'enum',
  methods: 'HTTP methods',
  cidrs: 'CIDR list',
  strings: 'string list',
  listeners: 'listener list',
  cacheRules: 'rule list',
  object: 'object',
};

function formatValue(spec: OptionSpec, value: unknown): string {
  if (value === null) return 'none';
  if (spec.kind === 'size' && typeof value === 'number') return value === 0 ? '0' : `${formatSize(value)}`;
  if (spec.kind === 'duration' && typeof value === 'number') return value === 0 ? '0' : formatDuration(value);
  if (spec.kind === 'listeners' && Array.isArray(value)) {
    return value.map((listener: { host: string; port: number }) => `${listener.host}:${listener.port}`).join(', ');
  }
  if (Array.isArray(value)) return value.length === 0 ? 'empty' : value.join(' ');
  return String(value);
}

/** Returns the default of an option as the docs and the CLI help print it. */
export function describeDefault(spec: OptionSpec): string {
  if (spec.defaultText) return spec.defaultText;
  if (spec.kind === 'object') return spec.falseDisables ? 'enabled, fields below' : 'fields below';
  return formatValue(spec, spec.default);
}

/** Returns the default of the top-level option `name`; throws for a name outside the schema. */
export function optionDefault(name: string): string {
  const spec = OPTIONS[name];
  if (!spec) throw new RangeError(`No option "${name}" in the schema.`);
  return describeDefault(spec);
}

/** Returns the accepted values of an option: its range, its enum values, or "" when any value of its type is. */
export function describeRange(spec: OptionSpec): string {
  if (spec.values) return spec.values.join(', ');
  if (spec.min === undefined && spec.max === undefined) return spec.nullable ? 'or null' : '';
  const min = spec.min === undefined ? '' : formatValue(spec, spec.min);
  const max = spec.max === undefined ? '' : formatValue(spec, spec.max);
  return `${min} to ${max}`;
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function renderTable(prefix: string, fields: Readonly<Record<string, OptionSpec>>): string {
  const rows = ['| option | type | default | range | meaning |', '| --- | --- | --- | --- | --- |'];
  for (const [name, spec] of Object.entries(fields)) {
    const meaning = spec.sizing ? `${spec.doc} **Sizing:** ${spec.sizing}` : spec.doc;
    const cells = [`\`${prefix}${name}\``, TYPE_TEXT[spec.kind], describeDefault(spec), describeRange(spec), meaning];
    rows.push(`| ${cells.map(escapeCell).join(' | ')} |`);
  }
  return rows.join('\n');
}

/**
 * Renders every option of the schema as Markdown tables: the top-level options first, then one
 * table for the fields of each object option.
 */
export function renderOptionReference(): string {
  const sections = [renderTable('', OPTIONS)];
  for (const [name, spec] of Object.entries(OPTIONS)) {
    if (spec.kind !== 'object' || !spec.fields) continue;
    sections.push(`### \`${name}\` fields\n\n${renderTable(`${name}.`, spec.fields)}`);
  }
  return `${sections.join('\n\n')}\n`;
}
