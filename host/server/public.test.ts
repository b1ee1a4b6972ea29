import { describe, expect, it } from 'vitest';
import { hostName } from '../registry/registry.js';
import { route } from './public.js';

describe('route', () => {
  it('takes the function from the first path segment and gives the guest the rest with the query', () => {
    expect(route('/hello/a/b?x=1', 'localhost:8080', 'localhost')).toEqual({ name: 'hello', pathWithQuery: '/a/b?x=1' });
    expect(route('/hello', undefined, 'localhost')).toEqual({ name: 'hello', pathWithQuery: '/' });
    expect(route('/hello?x', undefined, 'localhost')).toEqual({ name: 'hello', pathWithQuery: '/?x' });
    expect(route('/', undefined, 'localhost')).toBeUndefined();
  });

  it('takes the function from one label before the domain, case-insensitively and without the port', () => {
    expect(route('/a?q', 'Hello.LocalHost:8080', 'localhost')).toEqual({ name: 'hello', pathWithQuery: '/a?q' });
    expect(route('/', 'api.example.com', 'example.com')).toEqual({ name: 'api', pathWithQuery: '/' });
    // Two labels, or none, before the domain: path routing instead.
    expect(route('/fn/x', 'a.b.localhost', 'localhost')).toEqual({ name: 'fn', pathWithQuery: '/x' });
    expect(route('/fn/x', '.localhost', 'localhost')).toEqual({ name: 'fn', pathWithQuery: '/x' });
    expect(route('/fn/x', 'xlocalhost', 'localhost')).toEqual({ name: 'fn', pathWithQuery: '/x' });
  });

  it('decodes a percent-encoded function name and refuses a malformed one', () => {
    expect(route('/caf%C3%A9/x', undefined, 'localhost')).toEqual({ name: 'café', pathWithQuery: '/x' });
    expect(route('/bad%E0%A4%A/x', undefined, 'localhost')).toBeUndefined();
  });

  it('strips a mount prefix before routing', () => {
    expect(route('/fn/hello/x', undefined, 'localhost', '/fn')).toEqual({ name: 'hello', pathWithQuery: '/x' });
  });
});

describe('hostName', () => {
  it('lower-cases and drops a numeric port only', () => {
    expect(hostName('Example.COM:8080')).toBe('example.com');
    expect(hostName('example.com')).toBe('example.com');
    expect(hostName('[::1]:8080')).toBe('[::1]');
    expect(hostName('[::1]')).toBe('[::1]');
    expect(hostName('host:')).toBe('host:');
    expect(hostName('host:80a')).toBe('host:80a');
  });
});
