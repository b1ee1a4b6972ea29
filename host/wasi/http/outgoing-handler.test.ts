import { describe, expect, it } from 'vitest';
import { isAllowed } from './outgoing-handler.js';

const u = (s: string) => new URL(s);

describe('isAllowed', () => {
  it('denies everything with an empty allow-list', () => {
    expect(isAllowed(u('http://example.com/'), [])).toBe(false);
  });

  it('matches a host on its scheme default port only, unless a port is given', () => {
    expect(isAllowed(u('https://api.example.com/x'), ['api.example.com'])).toBe(true);
    expect(isAllowed(u('https://api.example.com:8443/x'), ['api.example.com'])).toBe(false);
    expect(isAllowed(u('http://127.0.0.1:9000/'), ['127.0.0.1:9000'])).toBe(true);
    expect(isAllowed(u('http://127.0.0.1:9001/'), ['127.0.0.1:9000'])).toBe(false);
    expect(isAllowed(u('http://127.0.0.1:9001/'), ['127.0.0.1:*'])).toBe(true);
  });

  it('matches subdomains with *.domain but not the domain itself or look-alikes', () => {
    const list = ['*.example.com'];
    expect(isAllowed(u('https://a.example.com/'), list)).toBe(true);
    expect(isAllowed(u('https://a.b.example.com/'), list)).toBe(true);
    expect(isAllowed(u('https://example.com/'), list)).toBe(false);
    expect(isAllowed(u('https://evilexample.com/'), list)).toBe(false);
  });

  it('allows anything with *', () => {
    expect(isAllowed(u('http://10.1.2.3:1/'), ['*'])).toBe(true);
  });
});
