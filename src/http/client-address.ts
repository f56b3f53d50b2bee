import { BlockList, isIP } from 'node:net';
import type { TLSSocket } from 'node:tls';

import type { Middleware } from 'koa';

import type { TrustProxy } from '../config/index.ts';

/**
 * Who the client is, when proxies may stand in front: the address the per-IP limit counts and
 * the audit log records, and whether the client spoke https.
 *
 * `X-Forwarded-For` is a list each proxy appends its peer to, so only its right end is written by
 * proxies we run; anything to the left may be whatever the client sent. The client is therefore
 * the rightmost address that is not one of our proxies, never the leftmost (which Koa's
 * `app.proxy` takes, and which let a client reset its own per-IP count).
 */

/** Which hops in front are ours: a number of them, or a test of an address. */
export type TrustedProxies = { hops: number } | { isTrusted(address: string): boolean };

/** The client as the trusted part of the forwarding headers describes it. */
export interface ResolvedClient {
  address: string;
  protocol: 'http' | 'https';
}

/** `::ffff:10.0.0.5` (IPv4 on a dual-stack socket) as `10.0.0.5`, so one client has one address. */
function canonical(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped ? (mapped[1] as string) : address;
}

const entries = (header: string | undefined) =>
  (header ?? '').split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');

/**
 * Resolves the client from the socket's peer and the forwarding headers, trusting only `trusted`.
 *
 * The chain is the `X-Forwarded-For` entries followed by the socket's peer. From its right end,
 * every hop that is ours is skipped (`hops` of them, or those `isTrusted` accepts); the next
 * entry is the client. An entry there that is not an IP address (`unknown`, garbage) cannot be
 * counted per address, so the proxy that reported it stands in for the client.
 *
 * `X-Forwarded-Proto` counts only when at least one trusted proxy was passed: its entry from the
 * outermost trusted proxy (each appends one, or the nearest overwrites it), else the socket's.
 */
export function resolveClient(options: {
  socketAddress: string;
  forwardedFor?: string | undefined;
  forwardedProto?: string | undefined;
  /** Whether the socket itself is TLS. */
  encrypted: boolean;
  trusted: TrustedProxies;
}): ResolvedClient {
  const { trusted } = options;
  const chain = [...entries(options.forwardedFor), options.socketAddress].map(canonical);
  let index = chain.length - 1;
  if ('hops' in trusted) {
    index = Math.max(0, index - trusted.hops);
  } else {
    while (index > 0 && trusted.isTrusted(chain[index] as string)) index -= 1;
  }
  const passed = chain.length - 1 - index;
  const candidate = chain[index] as string;
  const address = isIP(candidate) || passed === 0 ? candidate : (chain[index + 1] as string);

  const socketProtocol = options.encrypted ? 'https' : 'http';
  if (passed === 0) return { address, protocol: socketProtocol };
  const protos = entries(options.forwardedProto).map((proto) => proto.toLowerCase());
  const proto = protos[Math.max(0, protos.length - passed)];
  return { address, protocol: proto === 'https' || proto === 'http' ? proto : socketProtocol };
}

/** {@link TrustedProxies} for a `TRUST_PROXY` setting: a hop count, or addresses and CIDR ranges. */
export function trustedProxies(trust: TrustProxy): TrustedProxies {
  if ('hops' in trust) return { hops: trust.hops };
  const list = new BlockList();
  for (const entry of trust.addresses) {
    const [address, prefix] = entry.split('/') as [string, string | undefined];
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(address, family);
    else list.addSubnet(address, Number(prefix), family);
  }
  return {
    isTrusted: (address) => {
      const family = isIP(address);
      return family !== 0 && list.check(address, family === 6 ? 'ipv6' : 'ipv4');
    },
  };
}

/**
 * Sets `ctx.ip` and `ctx.protocol` (hence `ctx.secure`) from {@link resolveClient}, before any
 * other middleware reads them. Koa's own `proxy` option stays off: it believes the leftmost
 * `X-Forwarded-For` entry and any `X-Forwarded-Proto`, and a host app that mounts the IdP would
 * apply its own setting instead of ours.
 */
export function clientAddress(trust: TrustProxy): Middleware {
  const trusted = trustedProxies(trust);
  return (ctx, next) => {
    const socket = ctx.req.socket as Partial<TLSSocket>;
    const client = resolveClient({
      socketAddress: socket.remoteAddress ?? '',
      forwardedFor: ctx.get('x-forwarded-for'),
      forwardedProto: ctx.get('x-forwarded-proto'),
      encrypted: socket.encrypted === true,
      trusted,
    });
    ctx.request.ip = client.address;
    // Koa's `protocol` is a getter on the prototype; an own property on this request shadows it.
    Object.defineProperty(ctx.request, 'protocol', { value: client.protocol });
    return next();
  };
}
