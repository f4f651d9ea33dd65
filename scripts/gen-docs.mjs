// Regenerates the option tables of docs/configuration.md from the configuration schema
// (packages/shared/src/options.ts). Run after `pnpm run build`; `--check` exits 1 when the file
// is out of date instead of writing it.
import { readFileSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { REFERENCE_BEGIN, REFERENCE_END, extractOptionReference, renderOptionReference } from '../packages/shared/dist/option-docs.js';

const file = join(dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'configuration.md');
const markdown = readFileSync(file, 'utf8');
const current = extractOptionReference(markdown);
if (current === null) {
  console.error(`${file}: markers not found; the file needs the lines\n${REFERENCE_BEGIN}\n${REFERENCE_END}`);
  process.exit(1);
}

const generated = renderOptionReference();
if (current === generated) {
  console.log(`${file} is up to date`);
  process.exit(0);
}
if (process.argv.includes('--check')) {
  console.error(`${file} differs from the schema; run \`pnpm run docs\``);
  process.exit(1);
}

const begin = markdown.indexOf(REFERENCE_BEGIN) + REFERENCE_BEGIN.length;
const end = markdown.indexOf(REFERENCE_END);
writeFileSync(file, `${markdown.slice(0, begin)}\n\n${generated}\n${markdown.slice(end)}`);
console.log(`${file} updated from the schema`);
