// Certificates of the TLS listeners. They are read when the worker starts, so a reload (which
// starts new workers) picks up a renewed certificate, and an unreadable or mismatched one stops
// the worker before it reports ready.
import { readFileSync } from 'node:fs';
import { createSecureContext, type TlsOptions } from 'node:tls';
import type { TlsConfig } from '@aerys-cluster/shared';

/** ALPN protocol ids in server preference order; a client without ALPN gets HTTP/1.1. */
export const ALPN_PROTOCOLS = ['h2', 'http/1.1'];

/** Raised when a certificate, key or CA file cannot be read or does not form a valid pair. */
export class TlsConfigError extends Error {
  readonly code = 'AERYS_TLS_INVALID';

  constructor(message: string) {
    super(message);
    this.name = 'TlsConfigError';
  }
}

function readPem(listener: number, field: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new TlsConfigError(`Cannot read listen[${listener}].tls.${field} ${path}: ${reason}. Check the path and the file's permissions for the worker's user.`);
  }
}

/** Reads the PEM files of one listener and checks that they form a usable server context. */
export function loadTlsOptions(listener: number, config: TlsConfig): TlsOptions {
  const options: TlsOptions = {
    cert: readPem(listener, 'cert', config.cert),
    key: readPem(listener, 'key', config.key),
    minVersion: 'TLSv1.2',
    ALPNProtocols: ALPN_PROTOCOLS,
  };
  if (config.ca !== null) options.ca = readPem(listener, 'ca', config.ca);
  if (config.passphrase !== null) options.passphrase = config.passphrase;

  try {
    createSecureContext(options);
  } catch (error) {
    throw new TlsConfigError(
      `Invalid certificate or key for listen[${listener}] (cert ${config.cert}, key ${config.key}): ${(error as Error).message}. Check that the key matches the certificate and that the passphrase is right.`,
    );
  }
  return options;
}
