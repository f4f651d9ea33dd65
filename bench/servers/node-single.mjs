// One Node process with http.createServer; also the script PM2 runs in cluster mode, where PM2's
// primary shares the port. Usage: node node-single.mjs PORT (or PORT in the environment)
import { createServer } from 'node:http';
import { hello } from './app.mjs';
import { KEEP_ALIVE_TIMEOUT_MS, exitOnTerm } from './common.mjs';

const port = Number(process.argv[2] ?? process.env.PORT);

const server = createServer({ keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS }, hello);
server.listen(port, '127.0.0.1');
exitOnTerm();
