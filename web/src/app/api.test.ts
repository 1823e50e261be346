import { describe, expect, it, vi, afterEach } from 'vitest';
import { ApiError, api, formErrors, withQuery } from './api';

afterEach(() => vi.restoreAllMocks());

describe('api', () => {
  it('sends the CSRF header and JSON body, and parses problem+json into fields', async () => {
    const fetchMock = vi.spyOn(globalThis, 'fetch').mockResolvedValue(
      new Response(
        JSON.stringify({
          title: 'Unprocessable Entity',
          detail: 'validation failed',
          errors: [
            { location: 'body.emails[0]', message: 'not an email address' },
            { location: 'body.custom.tier', message: 'not one of the options' },
          ],
        }),
        { status: 422, headers: { 'Content-Type': 'application/problem+json' } },
      ),
    );
    const err: any = await api('POST', '/t/acme/customers', { body: { name: 'x' } }).catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err.status).toBe(422);
    const [url, init] = fetchMock.mock.calls[0];
    expect(url).toBe('/api/v1/t/acme/customers');
    expect((init!.headers as Record<string, string>)['X-Clientele-CSRF']).toBe('1');
    const { fields } = formErrors(err);
    expect(fields).toEqual([
      { name: ['emails', 0], errors: ['not an email address'] },
      { name: ['custom', 'tier'], errors: ['not one of the options'] },
    ]);
  });

  it('builds query strings, skipping empty values and repeating arrays', () => {
    expect(withQuery('/customers', { q: '张', tag: ['vip', 'new'], limit: 50, cursor: '' })).toBe(
      '/customers?q=%E5%BC%A0&tag=vip&tag=new&limit=50',
    );
  });
});
