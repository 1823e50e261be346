import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { App } from 'antd';
import { MemoryRouter, Route, Routes } from 'react-router-dom';
import i18n from '../../app/i18n';
import { TenantContext } from '../../app/session';
import TicketPage from './TicketPage';

afterEach(() => {
  cleanup();
  vi.restoreAllMocks();
  void i18n.changeLanguage('en');
});

const ticket = {
  id: 'tk1', number: 1001, subject: 'Delivery late', description: 'Ordered a week ago', requester_id: 'c1', channel: 'phone', type: 'complaint',
  priority: 'urgent', status: 'new', tags: ['shipping'], sla_paused_seconds: 0, resolution_due_at: '2099-01-01T00:00:00Z', custom: {}, version: 3, message_count: 1, created_at: '2026-12-01T08:00:00Z', updated_at: '2026-12-01T08:00:00Z',
};
const messages = { items: [{ id: 'm1', seq: 1, kind: 'note', body: 'Courier says Tuesday', created_at: '2026-12-01T09:00:00Z',
  attachments: [{ id: 'a1', ticket_id: 'tk1', message_id: 'm1', filename: '运单.pdf', content_type: 'application/pdf', size_bytes: 2048, created_at: '2026-12-01T09:00:00Z', download_url: '/api/v1/t/acme/tickets/tk1/attachments/a1' }] }] };
const formFiles = { items: [{ id: 'a0', ticket_id: 'tk1', filename: 'photo.png', content_type: 'image/png', size_bytes: 3 << 20, created_at: '2026-12-01T08:00:00Z', download_url: '/api/v1/t/acme/tickets/tk1/attachments/a0' }, messages.items[0].attachments[0]] };

function renderTicket(over: Record<string, unknown> = {}) {
  const calls: { method: string; url: string; body?: unknown }[] = [];
  vi.spyOn(globalThis, 'fetch').mockImplementation(async (u, init) => {
    const url = String(u);
    const method = String(init?.method ?? 'GET');
    calls.push({ method, url, body: init?.body instanceof FormData ? init.body : init?.body ? JSON.parse(String(init.body)) : undefined });
    const json = (v: unknown, status = 200) => new Response(JSON.stringify(v), { status });
    if (method === 'POST' && url.endsWith('/tickets/tk1/messages')) {
      return json({ message: { id: 'm2', seq: 2, kind: 'reply', body: 'x', created_at: new Date().toISOString() }, ticket: { ...ticket, status: 'open', version: 4 } }, 201);
    }
    if (method === 'POST' && url.endsWith('/tickets/tk1/messages/with-files')) {
      return json({ message: { id: 'm2', seq: 2, kind: 'note', body: 'x', created_at: new Date().toISOString(), attachments: [] }, ticket: { ...ticket, version: 4 } }, 201);
    }
    if (url.includes('/tickets/tk1/messages')) return json(messages);
    if (url.endsWith('/tickets/tk1/attachments')) return json(formFiles);
    if (url.endsWith('/tickets/tk1')) return json({ ...ticket, ...over });
    if (url.endsWith('/customers/c1')) return json({ id: 'c1', name: 'Chen Jing', emails: [], phones: [], tags: [] });
    if (url.endsWith('/members')) return json({ items: [] });
    if (url.endsWith('/settings')) return json({ time_zone: 'Asia/Shanghai', locale: 'en', currency: 'CNY', modules: {} });
    return json({ title: 'Not Found' }, 404);
  });
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  render(
    <QueryClientProvider client={qc}>
      <App>
        <MemoryRouter initialEntries={['/t/acme/tickets/tk1']}>
          <TenantContext.Provider value={{ tenant_id: 't', slug: 'acme', name: 'Acme', role: 'owner' }}>
            <Routes>
              <Route path="/t/:tenant/tickets/:id" element={<TicketPage />} />
            </Routes>
          </TenantContext.Provider>
        </MemoryRouter>
      </App>
    </QueryClientProvider>,
  );
  return calls;
}

describe('<TicketPage>', () => {
  it('shows the ticket, offers only the moves its rules allow, and sends a reply', async () => {
    const calls = renderTicket();
    expect((await screen.findByTestId('ticket-subject')).textContent).toBe('Delivery late');
    expect(await screen.findByText('Courier says Tuesday')).toBeTruthy();
    expect(await screen.findByText('Chen Jing')).toBeTruthy();
    for (const s of ['open', 'pending', 'on_hold', 'solved']) expect(screen.getByTestId(`status-${s}`)).toBeTruthy();
    expect(screen.queryByTestId('status-closed')).toBeNull();
    expect(screen.getByTestId('sla-state').textContent).toBe('Running');
    expect(screen.queryByTestId('merged-into')).toBeNull();
    fireEvent.change(screen.getByTestId('message-body'), { target: { value: 'Your parcel arrives on Tuesday.' } });
    fireEvent.click(screen.getByTestId('send-message'));
    await waitFor(() => expect(calls.find((c) => c.method === 'POST')).toBeTruthy());
    expect(calls.find((c) => c.method === 'POST')!.body).toEqual({ kind: 'reply', body: 'Your parcel arrives on Tuesday.' });
  });

  it("lists a message's files and the form's, and sends files with a note as a multipart form", async () => {
    const calls = renderTicket();
    const link = (await screen.findByText('运单.pdf')).closest('a')!;
    expect(link.getAttribute('href')).toBe('/api/v1/t/acme/tickets/tk1/attachments/a1');
    expect(link.textContent).toContain('2 KB');
    // The form's file shows under the description, the message's once, in its thread.
    expect((await screen.findByText('photo.png')).closest('a')!.textContent).toContain('3.0 MB');
    expect(screen.getAllByText('运单.pdf')).toHaveLength(1);
    fireEvent.click(document.querySelector('.ant-segmented-item:last-child input') as HTMLInputElement);
    fireEvent.change(screen.getByTestId('message-body'), { target: { value: 'Label attached' } });
    const input = document.querySelector('input[type=file]') as HTMLInputElement;
    const file = new File(['%PDF-1.4'], 'label.pdf', { type: 'application/pdf' });
    fireEvent.change(input, { target: { files: [file] } });
    expect(await screen.findByText('label.pdf')).toBeTruthy();
    fireEvent.click(screen.getByTestId('send-message'));
    await waitFor(() => expect(calls.find((c) => c.method === 'POST')).toBeTruthy());
    const sent = calls.find((c) => c.method === 'POST')!;
    expect(sent.url).toBe('/api/v1/t/acme/tickets/tk1/messages/with-files');
    const fd = sent.body as FormData;
    expect(fd.get('kind')).toBe('note');
    expect(fd.get('body')).toBe('Label attached');
    expect((fd.getAll('files')[0] as File).name).toBe('label.pdf');
  });

  it('links a merged ticket to the one it was merged into, and takes no message', async () => {
    renderTicket({ status: 'closed', merged_into_id: 'tk9', closed_at: '2026-12-02T08:00:00Z' });
    const link = await screen.findByTestId('merged-into');
    expect(link.querySelector('a')?.getAttribute('href')).toBe('/t/acme/tickets/tk9');
    expect(screen.queryByTestId('send-message')).toBeNull();
    expect(screen.queryByTestId('status-open')).toBeNull();
  });

  it("shows the requester's rating", async () => {
    renderTicket({ status: 'solved', solved_at: '2026-12-02T08:00:00Z', csat_rating: 4, csat_comment: 'Quick, thanks' });
    const rating = await screen.findByTestId('csat-rating');
    expect(rating.textContent).toContain('Satisfied');
    expect(rating.textContent).toContain('Quick, thanks');
  });

  it('names the unassigned assignee picker in words, not by its translation key', async () => {
    renderTicket();
    await screen.findByTestId('ticket-subject');
    expect(await screen.findByText('Choose a member')).toBeTruthy();
    expect(screen.queryByText('chooseMember')).toBeNull();
  });

  it('reads in Chinese', async () => {
    await i18n.changeLanguage('zh');
    renderTicket();
    await screen.findByTestId('ticket-subject');
    expect(await screen.findByText('对话')).toBeTruthy();
    expect(screen.getAllByText('内部备注').length).toBeGreaterThan(0);
    expect(screen.getAllByText('紧急').length).toBeGreaterThan(0);
    expect(screen.getAllByText('新建').length).toBeGreaterThan(0);
    expect(screen.getByText('选择成员')).toBeTruthy();
  });
});
