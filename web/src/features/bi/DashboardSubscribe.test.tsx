import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, screen, waitFor, within } from '@testing-library/react';
import i18n from '../../app/i18n';
import { subscriptionBodies } from './subscriptions';
import { renderPage } from './dashboardHarness';

afterEach(() => {
  cleanup();
  vi.restoreAllMocks();
  void i18n.changeLanguage('en');
});

describe('subscriptionBodies', () => {
  const f = { target: 'dashboard:d1', frequency: 'weekly' as const, weekday: 2, month_day: 1, time: '08:00' };
  it('subscribes the member and each role once, one request each', () => {
    expect(subscriptionBodies(f, { me: true, roles: [] })).toEqual([{ dashboard_id: 'd1', frequency: 'weekly', weekday: 2, time: '08:00' }]);
    expect(subscriptionBodies(f, { me: false, roles: ['manager', 'agent', 'manager'] })).toEqual([
      { dashboard_id: 'd1', frequency: 'weekly', weekday: 2, time: '08:00', role: 'manager' },
      { dashboard_id: 'd1', frequency: 'weekly', weekday: 2, time: '08:00', role: 'agent' },
    ]);
    expect(subscriptionBodies(f, { me: true, roles: ['viewer'] })).toHaveLength(2);
    expect(subscriptionBodies(f, { me: false, roles: [] })).toEqual([]);
  });
});

describe('<DashboardView> subscribe', () => {
  it('subscribes any member to the dashboard, themselves only', async () => {
    const calls = renderPage({ perms: ['bi.read'], canEdit: false }); // any member, even one who may not change it
    await screen.findByText('12');
    fireEvent.click(screen.getByTestId('bi-subscribe-dashboard'));
    await screen.findByTestId('bi-subscribe-form');
    expect(screen.queryByTestId('bi-subscribe-roles')).toBeNull(); // a member subscribes only themselves
    fireEvent.click(screen.getByTestId('bi-subscribe-ok'));
    await waitFor(() => expect(calls.filter((c) => c.method === 'POST' && c.url.endsWith('/bi/subscriptions'))).toHaveLength(1));
    expect(calls.find((c) => c.url.endsWith('/bi/subscriptions'))!.body).toEqual({ dashboard_id: 'd1', frequency: 'weekly', weekday: 1, time: '08:00' });
    expect(await screen.findByText('Subscribed.')).toBeTruthy();
  }, 60_000);

  it('lets someone with bi.manage subscribe roles instead of themselves', async () => {
    const calls = renderPage({ perms: ['bi.read', 'bi.manage'] });
    await screen.findByText('12');
    fireEvent.click(screen.getByTestId('bi-subscribe-dashboard'));
    const roles = await screen.findByTestId('bi-subscribe-roles');
    fireEvent.click(screen.getByTestId('bi-subscribe-me')); // not me: only the role
    fireEvent.mouseDown(within(roles).getByRole('combobox'));
    fireEvent.click(await screen.findByTitle('Manager'));
    fireEvent.click(screen.getByTestId('bi-subscribe-ok'));
    await waitFor(() => expect(calls.filter((c) => c.method === 'POST' && c.url.endsWith('/bi/subscriptions'))).toHaveLength(1));
    expect(calls.find((c) => c.url.endsWith('/bi/subscriptions'))!.body).toEqual({ dashboard_id: 'd1', frequency: 'weekly', weekday: 1, time: '08:00', role: 'manager' });
  }, 60_000);
});
