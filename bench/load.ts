import { Agent, request } from 'node:http';

import autocannon from 'autocannon';

import { BENCH_BASIC_AUTH } from './client.ts';

/** What one load run achieved. */
export interface Throughput {
  /** Successful (2xx) responses per second. */
  perSecond: number;
  /** Responses that were not 2xx, and requests that failed outright. */
  failures: number;
  /** The server process's CPU per successful response, ms (steadier than the rate on a busy machine). */
  cpuMsPerGrant?: number;
}

/**
 * client_credentials grants at `url`'s token endpoint from autocannon, `connections` at a time
 * for `seconds`.
 */
export async function clientCredentialsLoad(url: string, options: { seconds: number; connections: number }): Promise<Throughput> {
  const result = await autocannon({
    url: `${url}/token`,
    method: 'POST',
    headers: { authorization: BENCH_BASIC_AUTH, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
    connections: options.connections,
    duration: options.seconds,
  });
  return { perSecond: result['2xx'] / options.seconds, failures: result.non2xx + result.errors + result.timeouts };
}

/**
 * Rotating refresh grants: autocannon cannot send a body that depends on the last response, so
 * each chain is a loop that sends its latest refresh token and keeps the one it gets back
 * (`chains` is updated in place, so the next run continues where this one stopped). A chain
 * whose grant failed stops.
 */
export async function refreshLoad(url: string, chains: string[], options: { seconds: number }): Promise<Throughput> {
  const agent = new Agent({ keepAlive: true, maxSockets: chains.length });
  const deadline = performance.now() + options.seconds * 1000;
  let succeeded = 0;
  let failures = 0;
  const started = performance.now();
  await Promise.all(chains.map(async (_token, index) => {
    while (performance.now() < deadline) {
      const answer = await post(agent, `${url}/token`, `grant_type=refresh_token&refresh_token=${encodeURIComponent(chains[index] as string)}`);
      const refreshToken = answer.status === 200 ? (JSON.parse(answer.body) as { refresh_token?: string }).refresh_token : undefined;
      if (!refreshToken) {
        failures += 1;
        return;
      }
      chains[index] = refreshToken;
      succeeded += 1;
    }
  }));
  agent.destroy();
  return { perSecond: succeeded / ((performance.now() - started) / 1000), failures };
}

/** A form POST to the token endpoint with the bench client's Basic credentials. */
function post(agent: Agent, url: string, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const outgoing = request(url, {
      method: 'POST',
      agent,
      headers: { authorization: BENCH_BASIC_AUTH, 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) },
    }, (response) => {
      let text = '';
      response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk)).on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
    });
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}
