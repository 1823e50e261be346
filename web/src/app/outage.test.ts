import { afterEach, describe, expect, it, vi } from 'vitest';
import { api } from './api';
import { backoffMs, getOutage, noteAvailable, noteUnavailable, parseRetryAfter } from './outage';

afterEach(() => {
  vi.restoreAllMocks();
  noteAvailable();
});

const problem = (status: number, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/problem+json', ...headers } });

describe('outage', () => {
  it('a 503 naming the database raises the banner state; the next success clears it', async () => {
    vi.spyOn(globalThis, 'fetch')
      .mockResolvedValueOnce(problem(503, { title: 'Service Unavailable', code: 'unavailable', dependency: 'database', detail: 'not applied' }, { 'Retry-After': '3' }))
      .mockResolvedValueOnce(new Response('{"items":[]}', { status: 200 }));
    const err: any = await api('POST', '/t/acme/customers', { body: { name: 'x' } }).catch((e) => e);
    expect(err.status).toBe(503);
    expect(err.dependency).toBe('database');
    expect(err.retryAfter).toBe(3);
    expect(getOutage()).toMatchObject({ dependency: 'database', retryAfter: 3, attempts: 1 });
    await api('GET', '/t/acme/customers');
    expect(getOutage()).toBeNull();
  });

  it('a server that cannot be reached counts as an outage too', async () => {
    vi.spyOn(globalThis, 'fetch').mockRejectedValueOnce(new TypeError('Failed to fetch'));
    await api('GET', '/me').catch(() => undefined);
    expect(getOutage()?.dependency).toBe('service');
  });

  it('a full file store is a problem of the request, not a banner', async () => {
    vi.spyOn(globalThis, 'fetch').mockResolvedValueOnce(
      problem(503, { title: 'Service Unavailable', code: 'unavailable', dependency: 'files', detail: 'The file store is full' }, { 'Retry-After': '60' }),
    );
    const err: any = await api('POST', '/t/acme/imports', { body: new FormData() }).catch((e) => e);
    expect(err.status).toBe(503);
    expect(err.dependency).toBe('files');
    expect(getOutage()).toBeNull();
  });

  it('client errors and other 5xx do not raise it', async () => {
    vi.spyOn(globalThis, 'fetch').mockResolvedValueOnce(problem(422, { title: 'x', errors: [] }));
    await api('POST', '/t/acme/customers', { body: {} }).catch(() => undefined);
    expect(getOutage()).toBeNull();
  });

  it('retries back off from Retry-After, doubling to a 30 s cap', () => {
    const noJitter = () => 0;
    expect(backoffMs(1, 2, noJitter)).toBe(2000);
    expect(backoffMs(2, 2, noJitter)).toBe(4000);
    expect(backoffMs(3, 2, noJitter)).toBe(8000);
    expect(backoffMs(10, 2, noJitter)).toBe(30000);
    expect(backoffMs(1, 2, () => 1)).toBe(2400);
    noteUnavailable('identity', '1');
    noteUnavailable('identity', '1');
    expect(getOutage()?.attempts).toBe(2);
    expect(parseRetryAfter('abc')).toBe(2);
  });
});
