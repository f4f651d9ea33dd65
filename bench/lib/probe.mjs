// Readiness and feature probes: one request over the protocol a scenario uses. A contender is
// ready when the probe succeeds; an aerys-cluster build lacks a feature when it keeps failing.
import { request } from 'node:http';
import { connect as connectHttp2 } from 'node:http2';
import WebSocket from 'ws';

const PROBE_TIMEOUT_MS = 2000;

function probeHttp1(url) {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, timeout: PROBE_TIMEOUT_MS }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`))));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** Sends one HTTP/2 GET: prior knowledge for http://, ALPN h2 for https:// (self-signed accepted). */
function probeHttp2(url) {
  return new Promise((resolve, reject) => {
    const session = connectHttp2(url, { rejectUnauthorized: false });
    const timer = setTimeout(() => session.destroy(new Error('timed out')), PROBE_TIMEOUT_MS);
    const fail = (error) => {
      clearTimeout(timer);
      session.destroy();
      reject(error);
    };
    session.on('error', fail);
    const stream = session.request({ ':path': new URL(url).pathname });
    stream.on('error', fail);
    stream.on('response', (headers) => {
      stream.resume();
      stream.on('end', () => {
        clearTimeout(timer);
        session.close();
        if (headers[':status'] === 200) resolve();
        else reject(new Error(`status ${headers[':status']}`));
      });
    });
    stream.end();
  });
}

/** Opens a WebSocket, sends one message and waits for the same bytes back. */
function probeWebSocket(url) {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: PROBE_TIMEOUT_MS });
    const timer = setTimeout(() => fail(new Error('no echo')), PROBE_TIMEOUT_MS);
    const fail = (error) => {
      clearTimeout(timer);
      socket.terminate();
      reject(error);
    };
    socket.on('error', fail);
    socket.on('unexpected-response', (req, res) => fail(new Error(`handshake returned status ${res.statusCode}`)));
    socket.on('open', () => socket.send('probe'));
    socket.on('message', (data) => {
      clearTimeout(timer);
      socket.close();
      if (data.toString() === 'probe') resolve();
      else reject(new Error('echo differs'));
    });
  });
}

const PROBES = { http1: probeHttp1, h2: probeHttp2, ws: probeWebSocket };

/** Tries `url` over `protocol` until it succeeds; rejects after `timeoutMs` with the last error. */
export async function waitUntilServing(url, protocol, { timeoutMs = 20_000, child } = {}) {
  const deadline = Date.now() + timeoutMs;
  let lastError = new Error('no attempt');
  while (Date.now() < deadline) {
    if (child && (child.exitCode !== null || child.signalCode !== null)) {
      throw new Error(`exited with code ${child.exitCode} before it served ${url}: ${child.output.text.slice(-1500)}`);
    }
    try {
      await PROBES[protocol](url);
      return;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  throw new Error(`${url} (${protocol}) did not respond within ${timeoutMs} ms: ${lastError.message}`);
}
