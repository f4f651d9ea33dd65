// Runs every compiled test file (*.test.js) with Node's test runner: unit tests beside each
// package and the end-to-end tests in test/. Arguments are passed to `node --test`; file names
// among them replace the full list.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

function findTests(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return findTests(path);
    return entry.name.endsWith('.test.js') ? [path] : [];
  });
}

const roots = ['packages/shared/dist', 'packages/master/dist', 'packages/worker/dist', 'test/dist'];
const args = process.argv.slice(2);
const files = args.filter((arg) => !arg.startsWith('-'));
const flags = args.filter((arg) => arg.startsWith('-'));
// A compiled test whose TypeScript source was deleted or renamed stays in dist/ until a clean
// build; running it would test code that no longer exists.
function hasSource(compiled) {
  const source = compiled.replace(/^test\/dist\//, 'test/').replace(/\/dist\//, '/src/').replace(/\.js$/, '.ts');
  return existsSync(source);
}

const targets = files.length > 0 ? files : roots.flatMap(findTests).filter(hasSource).sort();

// Each end-to-end file starts its own cluster; one file at a time keeps them from competing for 2 cores.
const result = spawnSync(process.execPath, ['--test', '--test-concurrency=1', ...flags, ...targets], { stdio: 'inherit' });
process.exit(result.status ?? 1);
