// The README's first command, run from a fresh clone of the committed repository: it must set
// everything up and serve the demo site and application.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { REPO_ROOT, tempDir } from './helpers/cluster.js';
import { httpGet } from './helpers/net.js';

test('npm start serves the demo from a fresh clone', { timeout: 240_000 }, async () => {
  const clone = join(tempDir('aerys-clone-'), 'aerys-cluster');
  execFileSync('git', ['clone', '--quiet', REPO_ROOT, clone]);

  const child = spawn('npm', ['start'], { cwd: clone, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const ready = new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      output.push(line);
      if (line.includes('"msg":"cluster ready"')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`npm start exited with ${code}:\n${output.join('\n').slice(-3000)}`)));
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  try {
    await ready;
    const page = await httpGet('http://127.0.0.1:8080/');
    assert.equal(page.status, 200);
    assert.match(page.body.toString(), /aerys-cluster is running/);

    const api = await httpGet('http://127.0.0.1:8080/api/hello');
    assert.equal(api.status, 200);
    assert.match(api.headers['content-type'] as string, /application\/json/);
    assert.equal((JSON.parse(api.body.toString()) as { message: string }).message, 'Hello from aerys-cluster');
  } finally {
    // Ctrl-C in a terminal reaches the whole process group.
    process.kill(-(child.pid ?? 0), 'SIGINT');
  }
  await exited;
  // npm itself dies of the SIGINT; the master logs its own clean exit.
  assert.ok(output.some((line) => line.includes('"msg":"master stopped"') && line.includes('"exitCode":0')), output.slice(-5).join('\n'));
});
