import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, render, screen, waitFor } from '@testing-library/react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { MemoryRouter } from 'react-router-dom';
import '../../app/i18n';
import { TenantContext } from '../../app/session';
import { CustomerTickets } from './CustomerTickets';

afterEach(() => {
  cleanup();
  vi.restoreAllMocks();
});

function show(respond: (url: string) => Response) {
  const urls: string[] = [];
  vi.spyOn(globalThis, 'fetch').mockImplementation(async (u) => {
    urls.push(String(u));
    if (String(u).endsWith('/settings')) return new Response(JSON.stringify({ time_zone: 'UTC', locale: 'en', currency: 'CNY', modules: {} }), { status: 200 });
    return respond(String(u));
  });
  render(
    <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
      <MemoryRouter>
        <TenantContext.Provider value={{ tenant_id: 't', slug: 'acme', name: 'Acme', role: 'owner' }}>
          <CustomerTickets id="c1" />
        </TenantContext.Provider>
      </MemoryRouter>
    </QueryClientProvider>,
  );
  return urls;
}

describe('<CustomerTickets>', () => {
  it("lists the customer's recent tickets", async () => {
    const urls = show(() => new Response(JSON.stringify({ items: [{ id: 'tk1', number: 1042, subject: 'Refund please', status: 'pending', updated_at: new Date().toISOString() }] }), { status: 200 }));
    expect(await screen.findByText('Refund please')).toBeTruthy();
    expect(screen.getByText('#1042')).toBeTruthy();
    expect(urls).toContain('/api/v1/t/acme/tickets?requester_id=c1&limit=5');
  });
  it('shows nothing where tickets are off or not readable', async () => {
    show(() => new Response(JSON.stringify({ title: 'Not Found', status: 404 }), { status: 404 }));
    await waitFor(() => expect(screen.queryByTestId('customer-tickets')).toBeNull());
    await new Promise((r) => setTimeout(r, 50));
    expect(screen.queryByTestId('customer-tickets')).toBeNull();
  });
});
