import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { MemoryRouter, Route, Routes, useLocation } from 'react-router-dom';
import i18n from './i18n';
import { meKey, TenantScope, type Me } from './session';
import Shell from './Shell';

afterEach(() => {
  cleanup();
  vi.restoreAllMocks();
  void i18n.changeLanguage('en');
});

const me: Me = {
  identity: { id: 'u1', email: 'ann@example.com', name: 'Ann' },
  memberships: [
    { tenant_id: 't1', slug: 'acme', name: 'Acme', role: 'owner' },
    { tenant_id: 't2', slug: 'beta', name: 'Beta Trading 贝塔', role: 'member' },
  ],
  invitations: [],
};

function Where() {
  return <output data-testid="where">{useLocation().pathname}</output>;
}

function renderShell() {
  vi.spyOn(globalThis, 'fetch').mockImplementation(async (u) => {
    const url = String(u);
    if (url.endsWith('/me')) return new Response(JSON.stringify({ kind: 'user', role: 'owner', scope: 'all', permissions: [] }), { status: 200 });
    if (url.endsWith('/settings')) return new Response(JSON.stringify({ name: 'Acme', slug: 'acme', time_zone: 'UTC', locale: 'en', currency: 'CNY', modules: {} }), { status: 200 });
    return new Response(JSON.stringify({ items: [] }), { status: 200 });
  });
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  qc.setQueryData(meKey, me);
  render(
    <QueryClientProvider client={qc}>
      <MemoryRouter initialEntries={['/t/acme']}>
        <Routes>
          <Route path="/t/:tenant" element={<TenantScope><Shell /></TenantScope>}>
            <Route index element={<Where />} />
          </Route>
          <Route path="*" element={<Where />} />
        </Routes>
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

describe('<Shell> company switcher', () => {
  // The switcher names the company it is on, lists the person's companies
  // and a way to create one, and goes to the one chosen.
  it('names the current company, lists the others, and switches', async () => {
    renderShell();
    const button = screen.getByRole('button', { name: 'Switch company: Acme' });
    fireEvent.click(button);
    expect(await screen.findByRole('menuitem', { name: 'Beta Trading 贝塔' })).toBeTruthy();
    expect(screen.getByRole('menuitem', { name: '+ Create a company' })).toBeTruthy();
    fireEvent.click(screen.getByRole('menuitem', { name: 'Beta Trading 贝塔' }));
    expect((await screen.findByTestId('where')).textContent).toBe('/t/beta');
  });

  it('goes to the company wizard, and speaks Chinese', async () => {
    await i18n.changeLanguage('zh');
    renderShell();
    fireEvent.click(screen.getByRole('button', { name: '切换公司: Acme' }));
    fireEvent.click(await screen.findByRole('menuitem', { name: '+ 创建公司' }));
    expect((await screen.findByTestId('where')).textContent).toBe('/welcome');
  });
});
