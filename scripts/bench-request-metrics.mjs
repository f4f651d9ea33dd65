// Measures the time that observeRequest adds to one response, with synthetic request and response
// objects so that no network noise enters the number. Run after `pnpm run build`:
//   node scripts/bench-request-metrics.mjs
import { EventEmitter } from 'node:events';
import { observeRequest } from '../packages/worker/dist/metrics.js';
const socket = { bytesRead: 0, bytesWritten: 0, remoteAddress: '127.0.0.1' };
const req = { method: 'GET', httpVersionMajor: 1, socket, url: '/' };
function run(n, observe) {
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const res = new EventEmitter(); res.req = req; res.statusCode = 200; res.writableFinished = true;
    socket.bytesRead += 100; socket.bytesWritten += 200;
    if (observe) observeRequest(req, res);
    res.emit('close');
  }
  return Number(process.hrtime.bigint() - t) / n;
}
for (let k = 0; k < 3; k++) { const a = run(1e6, false), b = run(1e6, true); console.log(`baseline ${a.toFixed(0)} ns, observed ${b.toFixed(0)} ns, added ${(b - a).toFixed(0)} ns/request`); }
