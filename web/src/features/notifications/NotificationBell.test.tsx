import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { MemoryRouter } from 'react-router-dom';
import '../../app/i18n';
import { TenantContext } from '../../app/session';
import NotificationBell from './NotificationBell';

afterEach(() => {
  cleanup();
  vi.restoreAllMocks();
});

const feed = {
  unread: 2,
  items: [
    { id: 'n1', kind: 'reminder', title: 'Call Zhang Wei back', body: 'Follow-up task is due', link: '/customers/c1', created_at: new Date().toISOString() },
    { id: 'n2', kind: 'reminder', title: 'Send the quote', body: '', link: '', created_at: new Date().toISOString() },
  ],
};

function renderBell(fetchImpl: (url: string, init?: RequestInit) => Response) {
  const calls: [string, string][] = [];
  vi.spyOn(globalThis, 'fetch').mockImplementation(async (u, init) => {
    calls.push([String(init?.method ?? 'GET'), String(u)]);
    return fetchImpl(String(u), init);
  });
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  render(
    <QueryClientProvider client={qc}>
      <MemoryRouter>
        <TenantContext.Provider value={{ tenant_id: 't', slug: 'acme', name: 'Acme', role: 'owner' }}>
          <NotificationBell />
        </TenantContext.Provider>
      </MemoryRouter>
    </QueryClientProvider>,
  );
  return calls;
}

describe('<NotificationBell>', () => {
  it('shows the unread count, lists reminders, and marks all read', async () => {
    let unread = feed.unread;
    const calls = renderBell((url, init) => {
      if (url.endsWith('/settings')) return new Response(JSON.stringify({ time_zone: 'Asia/Shanghai', locale: 'en', currency: 'CNY', modules: {} }), { status: 200 });
      if (init?.method === 'POST') {
        unread = 0;
        return new Response(null, { status: 204 });
      }
      return new Response(JSON.stringify({ ...feed, unread }), { status: 200 });
    });
    const bell = await screen.findByRole('button', { name: 'Notifications, 2 unread' });
    expect(calls).toContainEqual(['GET', '/api/v1/t/acme/notifications?limit=20']);
    fireEvent.click(bell);
    expect(await screen.findByText('Call Zhang Wei back')).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Mark all read' }));
    await waitFor(() => expect(calls).toContainEqual(['POST', '/api/v1/t/acme/notifications/read-all']));
    await screen.findByRole('button', { name: 'Notifications, 0 unread' });
  });

  it('renders nothing where notifications do not exist (404)', async () => {
    renderBell(() => new Response(JSON.stringify({ title: 'Not Found' }), { status: 404 }));
    await waitFor(() => expect(screen.queryByRole('button')).toBeNull());
  });
});

describe('<NotificationBell> email preference', () => {
  it('shows the member’s email choice and saves a change', async () => {
    let email = true;
    const calls = renderBell((url, init) => {
      if (url.endsWith('/notifications/preferences')) {
        if (init?.method === 'PUT') email = JSON.parse(String(init.body)).email;
        return new Response(JSON.stringify({ email }), { status: 200 });
      }
      return new Response(JSON.stringify(feed), { status: 200 });
    });
    fireEvent.click(await screen.findByRole('button', { name: 'Notifications, 2 unread' }));
    const sw = await screen.findByRole('switch', { name: 'Also email me each notification' });
    await waitFor(() => expect(sw.getAttribute('aria-checked')).toBe('true'));
    fireEvent.click(sw);
    await waitFor(() => expect(calls).toContainEqual(['PUT', '/api/v1/t/acme/notifications/preferences']));
    await waitFor(() => expect(sw.getAttribute('aria-checked')).toBe('false'));
    expect(email).toBe(false);
  });
});
