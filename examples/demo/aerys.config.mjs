// Configuration of the demo cluster started by `npm start`. Every option not set here keeps its
// default; docs/configuration.md lists them all.
export default {
  listen: [
    // Cleartext: HTTP/1.1, HTTP/2 with prior knowledge (h2c) and ws://.
    { host: '127.0.0.1', port: 8080 },
    // TLS: HTTP/2 or HTTP/1.1 by ALPN, and wss://. The certificate is a development-only one.
    { host: '127.0.0.1', port: 8443, tls: { cert: './tls/localhost-cert.pem', key: './tls/localhost-key.pem' } },
  ],
  workers: 2,
  root: './site',
  app: './app.mjs',
  admin: { host: '127.0.0.1', port: 9180 },

  // The limits that matter most in production, at their defaults, so they are easy to find.
  maxConnections: 1000,
  connectionsPerIP: 30,
  maxBodySize: '128KiB',
  connectionTimeout: '6s',
  shutdownTimeout: '3s',
};
