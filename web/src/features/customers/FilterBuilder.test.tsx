import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, render, screen } from '@testing-library/react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import i18n from '../../app/i18n';
import { TenantContext } from '../../app/session';
import { FilterBuilder } from './FilterBuilder';

afterEach(() => {
  cleanup();
  vi.restoreAllMocks();
  void i18n.changeLanguage('en');
});

function renderTeamRow() {
  vi.spyOn(globalThis, 'fetch').mockImplementation(async (u) => {
    const url = String(u);
    if (url.endsWith('/teams')) return new Response(JSON.stringify({ items: [{ id: 't1', name: 'North desk' }, { id: 't2', name: 'South desk' }] }), { status: 200 });
    if (url.endsWith('/members')) return new Response(JSON.stringify({ items: [] }), { status: 200 });
    return new Response(JSON.stringify({ title: 'Not Found' }), { status: 404 });
  });
  render(
    <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
      <TenantContext.Provider value={{ tenant_id: 't', slug: 'acme', name: 'Acme', role: 'owner' }}>
        <FilterBuilder rows={[{ field: 'owner_team', op: 'eq', value: 't1' }]} setRows={() => {}} defs={[]} onApply={() => {}} />
      </TenantContext.Provider>
    </QueryClientProvider>,
  );
}

describe('<FilterBuilder>', () => {
  // A drill-down by team (owner_team=<id>) reads as the owner's team, by the
  // team's name, in both languages: not as a raw field and an id.
  it('shows a drill-down by team as the team, by name', async () => {
    renderTeamRow();
    expect(await screen.findByText('North desk')).toBeTruthy();
    expect(screen.getByText("Owner's team")).toBeTruthy();
    expect(screen.queryByText('owner_team')).toBeNull();
    await i18n.changeLanguage('zh');
    expect(await screen.findByText('负责人所在团队')).toBeTruthy();
  });
});
