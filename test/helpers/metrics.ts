// Reading the admin listener's /metrics output in tests: fetch, parse samples, sum a metric.
import { request } from 'node:http';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Scrape {
  status: number;
  contentType: string;
  body: string;
  /** Milliseconds from sending the request to the end of the body. */
  elapsedMs: number;
}

/** GETs a URL with an optional Accept header; resolves with the body as text and the time it took. */
export function fetchText(url: string, accept?: string, timeoutMs = 10_000): Promise<Scrape> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: accept ? { accept } : {}, agent: false, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          contentType: String(res.headers['content-type'] ?? ''),
          body: Buffer.concat(chunks).toString('utf8'),
          elapsedMs: performance.now() - started,
        }),
      );
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url} within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

const SAMPLE_LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Parses the sample lines of a text exposition (Prometheus or OpenMetrics). */
export function parseSamples(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = SAMPLE_LINE.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const label of (match[2] ?? '').matchAll(LABEL)) labels[label[1]!] = label[2]!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** Sums the samples named `name` whose labels include `where`. */
export function sumSamples(samples: readonly Sample[], name: string, where: Record<string, string> = {}): number {
  let total = 0;
  for (const sample of samples) {
    if (sample.name !== name) continue;
    if (Object.entries(where).every(([label, value]) => sample.labels[label] === value)) total += sample.value;
  }
  return total;
}

/** Scrapes `url` and returns its samples; fails on a status other than 200. */
export async function scrapeSamples(url: string): Promise<Sample[]> {
  const scrape = await fetchText(url);
  if (scrape.status !== 200) throw new Error(`scrape of ${url} returned ${scrape.status}: ${scrape.body}`);
  return parseSamples(scrape.body);
}
