// `aerys-cluster check`: validates a configuration and prints the production checklist, like
// `nginx -t`. Nothing is bound or forked. Exit 0 when the configuration is valid (warnings
// included), 1 when it is invalid.
import { ConfigError, loadConfig } from '@aerys-cluster/shared';
import { runChecklist } from './checklist.js';
import { workerIdentity } from './privileges.js';

export async function runCheck(file: string | undefined, overrides: Record<string, unknown>): Promise<void> {
  const source = file ?? '(flags and defaults)';
  let config;
  try {
    config = await loadConfig(file, overrides);
    workerIdentity(config);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`aerys-cluster: configuration ${source} is invalid\n${error.code} [${error.option}] ${error.message}\n`);
    process.exit(1);
  }

  const findings = runChecklist(config);
  for (const finding of findings) {
    process.stdout.write(`warning [${finding.option}] ${finding.message}\n  fix: ${finding.fix}\n`);
  }
  const summary = findings.length === 0 ? 'no warnings' : `${findings.length} warning${findings.length === 1 ? '' : 's'}`;
  process.stdout.write(`aerys-cluster: configuration ${source} is valid; ${summary}\n`);
  process.exit(0);
}
