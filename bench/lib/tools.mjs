// Preparation before a run: the load generators and nginx from Debian, the
// bench package's npm dependencies, and a current build of the workspace.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH_DIR, REPO_ROOT } from './paths.mjs';

/** Command -> Debian package. */
export const DEBIAN_TOOLS = { wrk: 'wrk', h2load: 'nghttp2-client', nginx: 'nginx', openssl: 'openssl' };

export function hasCommand(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/**
 * Installs the missing commands with apt-get when this user may (root, or sudo without a
 * password). Returns the commands still missing afterwards; the caller reports the scenarios that
 * need them as not available.
 */
export function ensureDebianTools(commands, log) {
  const missing = commands.filter((command) => !hasCommand(command));
  if (missing.length === 0) return [];

  const packages = [...new Set(missing.map((command) => DEBIAN_TOOLS[command]))];
  const asRoot = process.getuid?.() === 0;
  const aptGet = asRoot ? ['apt-get'] : ['sudo', '-n', 'apt-get'];
  if (!hasCommand('apt-get') || (!asRoot && !hasCommand('sudo'))) {
    log(`Missing ${missing.join(', ')}; install the Debian packages ${packages.join(' ')} to run the scenarios that need them.`);
    return missing;
  }

  log(`Installing Debian packages: ${packages.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const apt = (args) => spawnSync(aptGet[0], [...aptGet.slice(1), ...args], { env, stdio: ['ignore', 'ignore', 'inherit'], timeout: 300_000 });
  let result = apt(['install', '-y', '-qq', ...packages]);
  if (result.status !== 0) {
    apt(['update', '-qq']);
    result = apt(['install', '-y', '-qq', ...packages]);
  }
  const still = missing.filter((command) => !hasCommand(command));
  if (still.length > 0) log(`apt-get could not install ${still.join(', ')} (exit code ${result.status}).`);
  return still;
}

/** Installs the workspace's packages when the bench's own are missing, then builds (tsc -b is incremental). */
export function buildWorkspace(log) {
  const pnpm = hasCommand('pnpm');
  if (!existsSync(join(BENCH_DIR, 'node_modules/express')) || !existsSync(join(REPO_ROOT, 'node_modules/typescript'))) {
    if (!pnpm) throw new Error('The bench dependencies are missing and pnpm is not installed; run scripts/setup.sh first.');
    log('Installing the workspace packages (pnpm install)');
    execFileSync('pnpm', ['install', '--frozen-lockfile'], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  }
  log('Building the workspace (tsc -b)');
  execFileSync(process.execPath, [join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-b'], { cwd: REPO_ROOT, stdio: 'inherit' });
}

/** Writes a self-signed ECDSA P-256 certificate for 127.0.0.1 and localhost into `dir`. */
export function makeCertificate(dir) {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', key, '-out', cert],
    { stdio: 'ignore' },
  );
  return { cert, key };
}
