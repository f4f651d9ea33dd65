// /etc/aerys/aerys.config.mjs: the configuration the recipes in docs/deployment.md assume.
// Sizes are for a 4-core, 8 GB machine; see docs/configuration.md for how to size them.
export default {
  listen: [
    // The container image moves the ports above 1024, so its non-root user can bind them.
    { host: '0.0.0.0', port: Number(process.env.AERYS_HTTPS_PORT ?? 443), tls: { cert: '/etc/aerys/tls/cert.pem', key: '/etc/aerys/tls/key.pem' } },
    { host: '0.0.0.0', port: Number(process.env.AERYS_HTTP_PORT ?? 80) },
  ],
  workers: Number(process.env.AERYS_WORKERS ?? 4),
  app: '/opt/app/app.mjs',
  root: '/opt/app/public',
  admin: { host: process.env.AERYS_ADMIN_HOST ?? '127.0.0.1', port: 9180 },
  pidFile: '/run/aerys/aerys.pid',

  maxConnections: Number(process.env.AERYS_MAX_CONNECTIONS ?? 20000), // LimitNOFILE 65536 > 20000 + 100
  connectionsPerIP: 30,
  maxBodySize: '1MiB',
  softStreamCap: '8KiB', // at most 8 GiB / (20000 x 20 x 2) = 10,737 bytes, rounded down
  shutdownTimeout: '10s', // TimeoutStopSec, --stop-timeout and terminationGracePeriodSeconds are longer
};
