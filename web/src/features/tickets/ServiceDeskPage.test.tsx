import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { App } from 'antd';
import { MemoryRouter } from 'react-router-dom';
import i18n from '../../app/i18n';
import { TenantContext } from '../../app/session';
import { minutesText, parseHolidays, showHolidays } from './api';
import ServiceDeskPage from './ServiceDeskPage';

afterEach(() => {
  cleanup();
  vi.restoreAllMocks();
  void i18n.changeLanguage('en');
});

const settings = { enabled: true, title: '', intro: '', snippet: '<iframe src="http://localhost:8080/form/acme" title="Acme"></iframe>' };
const calendar = { id: 'cal1', name: 'Beijing', time_zone: 'Asia/Shanghai', default: true, hours: [{ days: ['mon', 'tue'], start: '09:00', end: '18:00' }], holidays: [{ date: '2027-01-01', name: '元旦' }] };

const policy = { id: 'p1', name: 'Urgent complaints', position: 1, active: true, priorities: ['urgent'], types: ['complaint'], channels: [], tags: ['vip'],
  first_response_minutes: 30, resolution_minutes: 1500, warn_percent: 80, business_hours: true };

function mount(postAnswer: () => Response, policyAnswer?: () => Response) {
  const calls: { method: string; url: string; body?: unknown }[] = [];
  vi.spyOn(globalThis, 'fetch').mockImplementation(async (u, init) => {
    const url = String(u);
    const method = String(init?.method ?? 'GET');
    const body = init?.body ? JSON.parse(String(init.body)) : undefined;
    calls.push({ method, url, body });
    const json = (v: unknown, status = 200) => new Response(JSON.stringify(v), { status });
    if (url.endsWith('/ticket-form')) return method === 'PUT' ? json({ ...settings, ...(body as object) }) : json(settings);
    if (url.endsWith('/sla-calendars') && method === 'POST') return postAnswer();
    if (url.includes('/sla-policies') && method !== 'GET') return policyAnswer ? policyAnswer() : json({ ...policy, ...(body as object) }, 201);
    if (url.endsWith('/sla-policies')) return json({ items: [policy] });
    if (url.endsWith('/sla-calendars')) return json({ items: [calendar] });
    return json({ title: 'Not Found' }, 404);
  });
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  render(
    <QueryClientProvider client={qc}>
      <App>
        <MemoryRouter>
          <TenantContext.Provider value={{ tenant_id: 't', slug: 'acme', name: 'Acme', role: 'owner' }}>
            <ServiceDeskPage />
          </TenantContext.Provider>
        </MemoryRouter>
      </App>
    </QueryClientProvider>,
  );
  return calls;
}

describe('<ServiceDeskPage>', () => {
  it('shows the snippet, turns the form off, and lists calendars', async () => {
    const calls = mount(() => new Response('{}', { status: 201 }));
    expect((await screen.findByTestId('form-snippet')).textContent).toContain('/form/acme');
    expect(await screen.findByText('Beijing')).toBeTruthy();
    expect(screen.getByText('Mon Tue 09:00–18:00')).toBeTruthy();
    fireEvent.click(screen.getByTestId('form-enabled'));
    fireEvent.click(screen.getByTestId('form-save'));
    await waitFor(() => expect(calls.find((c) => c.method === 'PUT')).toBeTruthy());
    expect(calls.find((c) => c.method === 'PUT')!.body).toEqual({ enabled: false, title: '', intro: '' });
  });

  it('sends a new calendar with its hours and holidays, and shows what the server refused', async () => {
    const calls = mount(() => new Response(JSON.stringify({ title: 'Unprocessable Entity', status: 422, detail: 'x',
      errors: [{ location: 'body.hours[1]', message: 'overlaps hours[0] on mon; working hours of one day must not overlap' }] }), { status: 422 }));
    fireEvent.click(await screen.findByTestId('calendar-new'));
    fireEvent.change(await screen.findByTestId('calendar-name'), { target: { value: 'Shanghai office' } });
    fireEvent.change(screen.getByTestId('calendar-holidays'), { target: { value: '2027-02-17 春节\n\n2027-10-01' } });
    fireEvent.click(screen.getByText('Save', { selector: '.ant-modal button span' }));
    expect((await screen.findByTestId('calendar-error')).textContent).toContain('must not overlap');
    const sent = calls.find((c) => c.method === 'POST')!.body as Record<string, unknown>;
    expect(sent).toMatchObject({ name: 'Shanghai office', time_zone: 'Asia/Shanghai', default: true,
      hours: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '09:00', end: '18:00' }], holidays: [{ date: '2027-02-17', name: '春节' }, { date: '2027-10-01' }] });
  });

  it('lists SLA policies with their conditions and targets, and edits one', async () => {
    const calls = mount(() => new Response('{}', { status: 201 }));
    const table = await screen.findByTestId('policies');
    expect(await screen.findByText('Urgent complaints')).toBeTruthy();
    for (const x of ['Urgent', 'Complaint', '#vip', 'First response: 30 min', 'Next response: —', 'Resolution: 1 d 1 h', 'Active']) expect(table.textContent).toContain(x);
    fireEvent.click(screen.getByText('Urgent complaints'));
    fireEvent.change(await screen.findByTestId('policy-first'), { target: { value: '45' } });
    fireEvent.click(screen.getByText('Save', { selector: '.ant-modal button span' }));
    await waitFor(() => expect(calls.find((c) => c.method === 'PUT' && c.url.endsWith('/sla-policies/p1'))).toBeTruthy());
    expect(calls.find((c) => c.method === 'PUT' && c.url.endsWith('/sla-policies/p1'))!.body).toMatchObject({ name: 'Urgent complaints', priorities: ['urgent'], types: ['complaint'],
      tags: ['vip'], first_response_minutes: 45, resolution_minutes: 1500, business_hours: true, active: true });
  });

  it('creates a policy and shows the target the server refused on its field', async () => {
    const calls = mount(() => new Response('{}', { status: 201 }), () => new Response(JSON.stringify({ title: 'Unprocessable Entity', status: 422, detail: 'x',
      errors: [{ location: 'body.resolution_minutes', message: 'give at least one target: first response, next response or resolution' }] }), { status: 422 }));
    fireEvent.click(await screen.findByTestId('policy-new'));
    fireEvent.change(await screen.findByTestId('policy-name'), { target: { value: 'Everything else' } });
    fireEvent.click(screen.getByText('Save', { selector: '.ant-modal button span' }));
    expect(await screen.findByText('give at least one target: first response, next response or resolution')).toBeTruthy();
    expect(calls.find((c) => c.method === 'POST' && c.url.endsWith('/sla-policies'))!.body).toMatchObject({ name: 'Everything else', active: true, priorities: [], warn_percent: 80 });
    expect(minutesText(90)).toBe('1 h 30 min');
  });

  it('reads in Chinese, and keeps holidays one a line', async () => {
    await i18n.changeLanguage('zh');
    mount(() => new Response('{}', { status: 201 }));
    expect(await screen.findByText('工作日历')).toBeTruthy();
    expect(await screen.findByText('SLA 策略')).toBeTruthy();
    expect(await screen.findByText('周一 周二 09:00–18:00')).toBeTruthy();
    expect(showHolidays(parseHolidays(' 2027-01-01 New Year \n2027-05-01'))).toBe('2027-01-01 New Year\n2027-05-01');
  });
});
