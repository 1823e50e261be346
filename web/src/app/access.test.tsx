import { describe, expect, it, vi, afterEach } from 'vitest';
import { cleanup, render, screen, waitFor } from '@testing-library/react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { Can, can, type Access } from './access';
import { TenantContext } from './session';

afterEach(() => {
  cleanup();
  vi.restoreAllMocks();
});

const viewer: Access = { kind: 'user', role: 'viewer', scope: 'all', permissions: ['customers.read'] };
const owner: Access = { kind: 'user', role: 'owner', scope: 'all', permissions: ['audit.read', 'customers.read', 'members.manage'] };

describe('can', () => {
  it('needs every permission named, and nothing is granted before access is known', () => {
    expect(can(owner, 'members.manage')).toBe(true);
    expect(can(owner, 'members.manage', 'audit.read')).toBe(true);
    expect(can(owner, 'members.manage', 'roles.manage')).toBe(false);
    expect(can(viewer, 'members.manage')).toBe(false);
    expect(can(undefined, 'customers.read')).toBe(false);
  });
});

describe('<Can>', () => {
  function renderAs(access: Access) {
    const fetchMock = vi.spyOn(globalThis, 'fetch').mockResolvedValue(new Response(JSON.stringify(access), { status: 200 }));
    const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } });
    render(
      <QueryClientProvider client={qc}>
        <TenantContext.Provider value={{ tenant_id: 't1', slug: 'acme', name: 'Acme', role: access.role }}>
          <Can perm="members.manage" fallback={<span>read only</span>}>
            <button>Invite</button>
          </Can>
        </TenantContext.Provider>
      </QueryClientProvider>,
    );
    return fetchMock;
  }

  it('shows the action to a member who may take it, asking the tenant-scoped endpoint', async () => {
    const f = renderAs(owner);
    await waitFor(() => expect(screen.getByRole('button', { name: 'Invite' })).toBeTruthy());
    expect(f.mock.calls[0][0]).toBe('/api/v1/t/acme/me');
  });

  it('hides it from one who may not', async () => {
    renderAs(viewer);
    await waitFor(() => expect(screen.getByText('read only')).toBeTruthy());
    expect(screen.queryByRole('button', { name: 'Invite' })).toBeNull();
  });
});
