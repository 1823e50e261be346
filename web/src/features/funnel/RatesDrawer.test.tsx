import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { App } from 'antd';
import '../../app/i18n';
import i18n from '../../app/i18n';
import { TenantContext } from '../../app/session';
import RatesDrawer, { type ExchangeRate } from './RatesDrawer';

const slow = { timeout: 15_000 };

afterEach(() => {
  cleanup();
  vi.restoreAllMocks();
});

// The server: the company's rates, a manager or a seller, and a refusal of a
// negative rate naming its field.
function serve(perms: string[]) {
  const items: ExchangeRate[] = [{ id: 'r1', base: 'CNY', currency: 'USD', valid_from: '2026-01-01', rate: '7.1000000000' }];
  const posts: unknown[] = [];
  vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
    const url = String(input);
    const json = (v: unknown, status = 200) => new Response(JSON.stringify(v), { status, headers: { 'Content-Type': status < 300 ? 'application/json' : 'application/problem+json' } });
    if (url.endsWith('/t/acme/me')) return json({ kind: 'user', role: 'x', scope: 'all', permissions: perms });
    if (url.endsWith('/t/acme/exchange-rates') && init?.method === 'POST') {
      const body = JSON.parse(String(init.body));
      posts.push(body);
      if (body.rate.startsWith('-')) {
        return json({ title: 'Unprocessable Entity', status: 422, detail: 'body.rate: must be positive', errors: [{ location: 'body.rate', message: 'must be positive' }] }, 422);
      }
      const r = { id: `r${items.length + 1}`, base: 'CNY', ...body };
      items.push(r);
      return json(r);
    }
    if (url.endsWith('/t/acme/exchange-rates')) return json({ base: 'CNY', items });
    return json({ title: 'Not Found', status: 404 }, 404);
  });
  return posts;
}

function renderDrawer() {
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  render(
    <QueryClientProvider client={qc}>
      <App>
        <TenantContext.Provider value={{ tenant_id: 't1', slug: 'acme', name: 'Acme', role: 'owner' }}>
          <RatesDrawer open onClose={() => undefined} />
        </TenantContext.Provider>
      </App>
    </QueryClientProvider>,
  );
}

describe('the exchange rates', () => {
  it('lists the rates, refuses a bad one at its field, and adds a good one upper-cased', async () => {
    await i18n.changeLanguage('en');
    const posts = serve(['deals.read', 'deals.manage']);
    renderDrawer();
    const table = await screen.findByTestId('rates-table', {}, slow);
    expect(within(table).getByText('USD')).toBeTruthy();
    expect(within(table).getByText('7.1')).toBeTruthy();
    expect(screen.getByText(/added up in CNY/)).toBeTruthy();
    const form = await screen.findByTestId('rate-form', {}, slow);
    const field = (label: RegExp) => within(form).getByLabelText(label);
    fireEvent.change(field(/Currency/), { target: { value: 'eur' } });
    fireEvent.change(field(/Valid from/), { target: { value: '2026-06-01' } });
    fireEvent.change(field(/Value in CNY/), { target: { value: '-7' } });
    fireEvent.click(within(form).getByRole('button', { name: /Save rate/ }));
    expect(await within(form).findByText('must be positive', {}, slow)).toBeTruthy();
    fireEvent.change(field(/Value in CNY/), { target: { value: '7.9' } });
    fireEvent.click(within(form).getByRole('button', { name: /Save rate/ }));
    await waitFor(() => expect(within(screen.getByTestId('rates-table')).getByText('EUR')).toBeTruthy(), slow);
    expect(posts[1]).toEqual({ currency: 'EUR', valid_from: '2026-06-01', rate: '7.9' });
  });

  it('shows a seller the rates in Chinese, without the form', async () => {
    await i18n.changeLanguage('zh');
    serve(['deals.read']);
    renderDrawer();
    const table = await screen.findByTestId('rates-table', {}, slow);
    expect(within(table).getAllByText('折合 CNY').length).toBeGreaterThan(0);
    expect(screen.getByText('汇率')).toBeTruthy();
    expect(screen.queryByTestId('rate-form')).toBeNull();
    await i18n.changeLanguage('en');
  });
});
