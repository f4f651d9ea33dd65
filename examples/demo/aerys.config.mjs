// Configuration of the demo cluster started by `npm start`. Every option not set here keeps its
// default; docs/configuration.md lists them all.
export default {
  listen: [{ host: '127.0.0.1', port: 8080 }],
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
