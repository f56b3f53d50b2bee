import { expect } from 'chai';

import { resolveClient, trustedProxies } from './client-address.ts';

const NONE = trustedProxies({ hops: 0 });
const ONE_HOP = trustedProxies({ hops: 1 });
const TWO_HOPS = trustedProxies({ hops: 2 });
const LISTED = trustedProxies({ addresses: ['10.0.0.5', '10.0.0.6', '172.16.0.0/12', 'fd00::/8'] });

const resolve = (trusted: ReturnType<typeof trustedProxies>, socketAddress: string, forwardedFor?: string, forwardedProto?: string, encrypted = false) =>
  resolveClient({ socketAddress, forwardedFor, forwardedProto, encrypted, trusted });

describe('client address', () => {
  it('ignores the forwarding headers when no proxy is trusted', () => {
    expect(resolve(NONE, '198.51.100.7', '203.0.113.1', 'https')).to.deep.equal({ address: '198.51.100.7', protocol: 'http' });
    expect(resolve(NONE, '198.51.100.7', undefined, 'http', true)).to.deep.equal({ address: '198.51.100.7', protocol: 'https' });
  });

  it('takes the entry one load balancer appended, not one the client put in front', () => {
    // The client sent "X-Forwarded-For: 1.2.3.4"; the load balancer appended the real peer.
    expect(resolve(ONE_HOP, '10.0.0.5', '1.2.3.4, 203.0.113.9').address).to.equal('203.0.113.9');
    expect(resolve(ONE_HOP, '10.0.0.5', '203.0.113.9').address).to.equal('203.0.113.9');
    expect(resolve(TWO_HOPS, '10.0.0.5', '1.2.3.4, 203.0.113.9, 10.0.0.6').address).to.equal('203.0.113.9');
  });

  it('uses the socket address when a request did not come through the proxies', () => {
    expect(resolve(ONE_HOP, '10.0.0.5').address).to.equal('10.0.0.5');
    expect(resolve(LISTED, '203.0.113.9', '1.2.3.4', 'https')).to.deep.equal({ address: '203.0.113.9', protocol: 'http' });
  });

  it('skips listed proxies and CIDR ranges from the right, stopping at the first address not theirs', () => {
    expect(resolve(LISTED, '10.0.0.5', '1.2.3.4, 203.0.113.9, 172.20.1.1, 10.0.0.6').address).to.equal('203.0.113.9');
    expect(resolve(LISTED, 'fd00::1', '2001:db8::7').address).to.equal('2001:db8::7');
    // All of them ours (a health check between proxies): the leftmost is the caller.
    expect(resolve(LISTED, '10.0.0.5', '10.0.0.6').address).to.equal('10.0.0.6');
  });

  it('reads IPv4 on a dual-stack socket as plain IPv4, and checks it against IPv4 ranges', () => {
    expect(resolve(LISTED, '::ffff:10.0.0.5', '203.0.113.9').address).to.equal('203.0.113.9');
    expect(resolve(NONE, '::ffff:198.51.100.7').address).to.equal('198.51.100.7');
  });

  it('lets the reporting proxy stand in for an entry that is not an address', () => {
    expect(resolve(ONE_HOP, '10.0.0.5', 'unknown').address).to.equal('10.0.0.5');
    expect(resolve(LISTED, '10.0.0.5', '203.0.113.9, <script>').address).to.equal('10.0.0.5');
  });

  it('believes X-Forwarded-Proto from the outermost trusted proxy only', () => {
    expect(resolve(ONE_HOP, '10.0.0.5', '203.0.113.9', 'https').protocol).to.equal('https');
    // The client sent "X-Forwarded-Proto: https" over http; the load balancer appended "http".
    expect(resolve(ONE_HOP, '10.0.0.5', '203.0.113.9', 'https, http').protocol).to.equal('http');
    expect(resolve(TWO_HOPS, '10.0.0.5', '203.0.113.9, 10.0.0.6', 'http, https, http').protocol).to.equal('https');
    expect(resolve(ONE_HOP, '10.0.0.5', '203.0.113.9', 'HTTPS').protocol).to.equal('https');
    expect(resolve(ONE_HOP, '10.0.0.5', '203.0.113.9', 'gopher').protocol).to.equal('http');
  });
});
