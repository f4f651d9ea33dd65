// The settings reference agrees with the configuration schema: the option tables of
// docs/configuration.md are the schema rendered, and every error code and logged lifecycle
// event the docs name exists in the code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  CONFIG_ERROR_CODES,
  OPTIONS,
  extractOptionReference,
  renderOptionReference,
  type OptionSpec,
} from '@aerys-cluster/shared';
import { REPO_ROOT } from './helpers/cluster.js';

const CONFIGURATION_DOC = join(REPO_ROOT, 'docs/configuration.md');

function readDoc(): string {
  return readFileSync(CONFIGURATION_DOC, 'utf8');
}

/** Every option path of the schema, nested fields as `parent.field`. */
function optionPaths(options: Readonly<Record<string, OptionSpec>>, prefix = ''): string[] {
  return Object.entries(options).flatMap(([name, spec]) => [
    `${prefix}${name}`,
    ...(spec.fields ? optionPaths(spec.fields, `${prefix}${name}.`) : []),
  ]);
}

/** Source text of every TypeScript file of the product packages, tests excluded. */
function productSource(): string {
  const texts: string[] = [];
  for (const pkg of ['shared', 'master', 'worker']) {
    const dir = join(REPO_ROOT, 'packages', pkg, 'src');
    for (const file of readdirSync(dir)) {
      if (file.endsWith('.ts') && !file.endsWith('.test.ts')) texts.push(readFileSync(join(dir, file), 'utf8'));
    }
  }
  return texts.join('\n');
}

test('option reference matches the schema', () => {
  const documented = extractOptionReference(readDoc());
  assert.notEqual(documented, null, 'docs/configuration.md has the option reference markers');
  assert.equal(documented, renderOptionReference(), 'docs/configuration.md is out of date: run `pnpm run docs`');
});

test('undocumented new option fails the comparison', () => {
  const documented = extractOptionReference(readDoc());
  const withNewOption = { ...OPTIONS, maxTeapots: { kind: 'integer', default: 1, min: 0, max: 9, doc: 'Teapots.' } } satisfies Record<string, OptionSpec>;
  assert.notEqual(renderOptionReference(withNewOption), documented);
});

test('every option path is in the reference', () => {
  const documented = extractOptionReference(readDoc()) ?? '';
  for (const path of optionPaths(OPTIONS)) {
    assert.ok(documented.includes(`| \`${path}\` |`), `option ${path} has a row`);
  }
});

test('every option has a description', () => {
  for (const path of optionPaths(OPTIONS)) {
    const [parent, field] = path.split('.');
    const spec = field ? OPTIONS[parent ?? '']?.fields?.[field] : OPTIONS[path];
    assert.ok(spec && spec.doc.trim().length > 10, `option ${path} has a doc text`);
  }
});

test('every config error code has a fix', () => {
  const doc = readDoc();
  for (const code of CONFIG_ERROR_CODES) {
    const row = doc.split('\n').find((line) => line.startsWith(`| \`${code}\` |`));
    assert.ok(row, `${code} has a row in the error table`);
    const cells = row.split(' | ');
    assert.ok((cells[2] ?? '').trim().length > 20, `${code} row names a fix`);
  }
});

test('documented log events exist in the code', () => {
  const doc = readDoc();
  const table = doc.slice(doc.indexOf('Lifecycle events'));
  const messages = [...table.matchAll(/^\| `([^`]+)` \| (?:fatal|error|warn|info|debug) \|/gm)].map((match) => match[1] ?? '');
  assert.ok(messages.length >= 10, `found ${messages.length} documented events`);

  const source = productSource();
  for (const message of messages) {
    // "connection rejected (repeated)" is built from the base message plus a fixed suffix.
    const literal = message.replace(/ \(repeated\)$/, '');
    assert.ok(source.includes(`'${literal}'`) || source.includes(`"${literal}"`), `"${message}" is logged by the code`);
  }
});
