import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { App } from 'antd';
import { MemoryRouter, Route, Routes } from 'react-router-dom';
import i18n from '../../app/i18n';
import CsatPage from './CsatPage';
import FormPage from './FormPage';

afterEach(() => {
  cleanup();
  vi.restoreAllMocks();
  void i18n.changeLanguage('en');
});

const token = 'A'.repeat(43);

function mount(path: string, answer: (method: string, url: string, body: unknown) => Response) {
  const calls: { method: string; url: string; body?: unknown }[] = [];
  vi.spyOn(globalThis, 'fetch').mockImplementation(async (u, init) => {
    const url = String(u);
    const method = String(init?.method ?? 'GET');
    const body = init?.body instanceof FormData ? init.body : init?.body ? JSON.parse(String(init.body)) : undefined;
    calls.push({ method, url, body });
    return answer(method, url, body);
  });
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  render(
    <QueryClientProvider client={qc}>
      <App>
        <MemoryRouter initialEntries={[path]}>
          <Routes>
            <Route path="/csat/:tenant/:token" element={<CsatPage />} />
            <Route path="/form/:tenant" element={<FormPage />} />
          </Routes>
        </MemoryRouter>
      </App>
    </QueryClientProvider>,
  );
  return calls;
}

const json = (v: unknown, status = 200) => new Response(JSON.stringify(v), { status, headers: { 'Content-Type': 'application/json' } });
const survey = { company: 'Acme 顶点', locale: 'en', number: 1001, subject: 'Broken lid', expires_at: '2099-01-01T00:00:00Z', rated: false };

describe('<CsatPage>', () => {
  it('rates a ticket once through the public API, without signing in', async () => {
    const calls = mount(`/csat/acme/${token}`, (method) => (method === 'POST' ? json({ ...survey, rated: true, rating: 4 }) : json(survey)));
    expect(await screen.findByText('Ticket #1001: Broken lid')).toBeTruthy();
    expect(screen.getByRole('heading', { level: 1 }).textContent).toBe('Acme 顶点 · How did we do?');
    expect(calls[0].url).toBe(`/api/v1/public/acme/csat/${token}`);
    const send = screen.getByTestId('csat-send') as HTMLButtonElement;
    expect(send.disabled).toBe(true); // no stars yet
    fireEvent.click(screen.getAllByRole('radio')[3]);
    fireEvent.change(screen.getByTestId('csat-comment'), { target: { value: ' Quick ' } });
    fireEvent.click(send);
    expect(await screen.findByText('Thank you for your rating!')).toBeTruthy();
    expect(calls.find((c) => c.method === 'POST')!.body).toEqual({ rating: 4, comment: 'Quick' });
  });

  it('speaks the company language and says when a link has expired or is forged', async () => {
    mount(`/csat/acme/${token}`, () => json({ ...survey, locale: 'zh-CN' }));
    expect(await screen.findByText('工单 #1001：Broken lid')).toBeTruthy();
    expect(screen.getByText('提交评价')).toBeTruthy();
    cleanup();
    await i18n.changeLanguage('en');
    mount(`/csat/acme/${token}`, () => json({ title: 'Gone', status: 410 }, 410));
    expect((await screen.findByTestId('csat-refused')).textContent).toContain('expired');
    cleanup();
    mount(`/csat/acme/forged`, () => json({ title: 'Not Found', status: 404 }, 404));
    expect((await screen.findByTestId('csat-refused')).textContent).toContain('not valid');
  });

  it('says a used link is used', async () => {
    mount(`/csat/acme/${token}`, () => json({ ...survey, rated: true, rating: 5 }));
    expect((await screen.findByTestId('csat-done')).textContent).toContain('rated already');
  });
});

describe('<FormPage>', () => {
  const form = { company: 'Acme', locale: 'en', title: 'Contact us', intro: 'Tell us.', types: ['feedback', 'complaint', 'request', 'question'] };

  it('sends a submission with an empty honeypot and shows the ticket number', async () => {
    const calls = mount('/form/acme', (method) => (method === 'POST' ? json({ number: 1007, message: 'Thank you. We received your message as ticket #1007.' }, 201) : json(form)));
    expect(await screen.findByText('Acme · Contact us')).toBeTruthy();
    // The page's one level-one heading names the company and the form.
    expect(screen.getByRole('heading', { level: 1 }).textContent).toBe('Acme · Contact us');
    const honeypot = screen.getByTestId('form-website');
    expect(honeypot.closest('[aria-hidden="true"]')).toBeTruthy();
    expect(honeypot.getAttribute('tabindex')).toBe('-1');
    fireEvent.change(screen.getByTestId('form-subject'), { target: { value: 'Broken lid' } });
    fireEvent.change(screen.getByTestId('form-email'), { target: { value: 'sun.li@example.com' } });
    fireEvent.click(screen.getByTestId('form-send'));
    expect((await screen.findByTestId('form-receipt')).textContent).toContain('#1007');
    const sent = calls.find((c) => c.method === 'POST')!;
    expect(sent.url).toBe('/api/v1/public/acme/ticket-form');
    expect(sent.body).toEqual({ type: 'request', subject: 'Broken lid', email: 'sun.li@example.com' });
  });

  it('sends attached files with the form as a multipart form, and refuses an oversized one before sending', async () => {
    const calls = mount('/form/acme', (method) => (method === 'POST' ? json({ number: 1008, message: 'Thank you. We received your message as ticket #1008.' }, 201)
      : json({ ...form, max_files: 3, max_file_bytes: 5 << 20, file_types: ['.pdf', '.png'] })));
    expect(await screen.findByTestId('form-attach')).toBeTruthy();
    const input = document.querySelector('input[type=file]') as HTMLInputElement;
    expect(input.getAttribute('accept')).toBe('.pdf,.png');
    const big = new File(['x'], 'huge.png', { type: 'image/png' });
    Object.defineProperty(big, 'size', { value: 6 << 20 });
    fireEvent.change(input, { target: { files: [big] } });
    expect(await screen.findByText('huge.png is larger than 5.0 MB.')).toBeTruthy();
    fireEvent.change(document.querySelector('input[type=file]') as HTMLInputElement, { target: { files: [new File(['\x89PNG'], 'lid.png', { type: 'image/png' })] } });
    expect(await screen.findByText('lid.png')).toBeTruthy();
    fireEvent.change(screen.getByTestId('form-subject'), { target: { value: 'Broken lid' } });
    fireEvent.change(screen.getByTestId('form-email'), { target: { value: 'sun.li@example.com' } });
    fireEvent.click(screen.getByTestId('form-send'));
    expect((await screen.findByTestId('form-receipt')).textContent).toContain('#1008');
    const sent = calls.find((c) => c.method === 'POST')!;
    expect(sent.url).toBe('/api/v1/public/acme/ticket-form/with-files');
    const fd = sent.body as FormData;
    expect(fd.get('subject')).toBe('Broken lid');
    expect(fd.get('website')).toBeNull();
    expect(fd.getAll('files').map((f) => (f as File).name)).toEqual(['lid.png']);
  });

  it('places the server refusal on its field, reads in Chinese, and says when the form is closed', async () => {
    mount('/form/acme', (method) => (method === 'POST'
      ? json({ title: 'Unprocessable Entity', status: 422, detail: 'x', errors: [{ location: 'body.email', message: 'give an email or a phone so we can answer' }] }, 422)
      : json({ ...form, locale: 'zh-CN', title: '联系我们' })));
    expect(await screen.findByText('Acme · 联系我们')).toBeTruthy();
    expect(screen.getByTestId('form-send').textContent?.replace(/\s/g, '')).toBe('提交');
    fireEvent.change(screen.getByTestId('form-subject'), { target: { value: '你好' } });
    fireEvent.click(screen.getByTestId('form-send'));
    expect(await screen.findByText('give an email or a phone so we can answer')).toBeTruthy();
    cleanup();
    mount('/form/closed', () => json({ title: 'Not Found', status: 404 }, 404));
    expect(await screen.findByTestId('form-closed')).toBeTruthy();
  });
});
