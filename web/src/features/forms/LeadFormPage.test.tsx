import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { App } from 'antd';
import { MemoryRouter, Route, Routes } from 'react-router-dom';
import i18n from '../../app/i18n';
import LeadFormPage from './LeadFormPage';

afterEach(() => {
  cleanup();
  vi.restoreAllMocks();
  void i18n.changeLanguage('en');
});

function mount(path: string, answer: (method: string, url: string, body: unknown) => Response) {
  const calls: { method: string; url: string; body?: Record<string, unknown> }[] = [];
  vi.spyOn(globalThis, 'fetch').mockImplementation(async (u, init) => {
    const url = String(u);
    const method = String(init?.method ?? 'GET');
    const body = init?.body ? JSON.parse(String(init.body)) : undefined;
    calls.push({ method, url, body });
    return answer(method, url, body);
  });
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  render(
    <QueryClientProvider client={qc}>
      <App>
        <MemoryRouter initialEntries={[path]}>
          <Routes>
            <Route path="/lead-form/:tenant/:token" element={<LeadFormPage />} />
          </Routes>
        </MemoryRouter>
      </App>
    </QueryClientProvider>,
  );
  return calls;
}

const json = (v: unknown, status = 200) => new Response(JSON.stringify(v), { status, headers: { 'Content-Type': 'application/json' } });
const form = {
  company: 'Acme 顶点',
  locale: 'en',
  title: 'Ask for a trial',
  submit: 'Send',
  consent: 'I agree to be contacted.',
  fields: [
    { key: 'name', label: 'Name', type: 'text', required: true, max_length: 300 },
    { key: 'email', label: 'Work email', type: 'email', required: false, max_length: 254 },
  ],
};

describe('<LeadFormPage>', () => {
  it('sends the answers with the consent, the campaign and the embedding page, without signing in', async () => {
    const calls = mount('/lead-form/acme/lf_abc?utm_source=news&utm_campaign=spring&source=https%3A%2F%2Fshop.example%2Fp', (method) =>
      method === 'POST' ? json({ message: 'Thanks, we will call you.' }, 201) : json(form),
    );
    expect((await screen.findByRole('heading', { level: 1 })).textContent).toBe('Ask for a trial');
    expect(calls[0].url).toBe('/api/v1/public/acme/lead-forms/lf_abc');
    fireEvent.change(screen.getByTestId('lead-field-name'), { target: { value: ' Zhao Lei ' } });
    fireEvent.change(screen.getByTestId('lead-field-email'), { target: { value: 'zhao@example.com' } });
    fireEvent.click(screen.getByTestId('lead-consent'));
    fireEvent.click(screen.getByTestId('lead-send'));
    expect(await screen.findByText('Thanks, we will call you.')).toBeTruthy();
    const sent = calls.find((c) => c.method === 'POST')!.body!;
    expect(sent.fields).toEqual({ name: ' Zhao Lei ', email: 'zhao@example.com' });
    expect(sent.consent).toBe(true);
    expect(sent.utm).toEqual({ utm_source: 'news', utm_campaign: 'spring' });
    expect(sent.source).toBe('https://shop.example/p');
  });

  it('shows the server refusal at the field it names', async () => {
    const calls = mount('/lead-form/acme/lf_abc', (method) =>
      method === 'POST'
        ? json({ title: 'Unprocessable Entity', status: 422, detail: 'x', errors: [{ location: 'body.fields.email', message: 'matches no customer, and a lead could not be created' }] }, 422)
        : json({ ...form, consent: undefined }),
    );
    await screen.findByTestId('lead-form');
    fireEvent.change(screen.getByTestId('lead-field-name'), { target: { value: 'Zhao' } });
    fireEvent.change(screen.getByTestId('lead-field-email'), { target: { value: 'zhao@example.com' } });
    fireEvent.click(screen.getByTestId('lead-send'));
    await waitFor(() => expect(calls.some((c) => c.method === 'POST')).toBe(true));
    expect(await screen.findByText('matches no customer, and a lead could not be created')).toBeTruthy();
  });

  it('says a closed or unknown form is not available', async () => {
    mount('/lead-form/acme/lf_gone', () => json({ title: 'Gone', status: 410 }, 410));
    await waitFor(() => expect(screen.getByTestId('lead-form-closed').textContent).toContain('not available'));
  });
});
