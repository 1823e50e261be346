import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { MemoryRouter, Route, Routes } from 'react-router-dom';
import { App } from 'antd';
import i18n from '../../app/i18n';
import CloseCompanyCard from './CloseCompanyCard';

const slow = { timeout: 15_000 };

afterEach(() => {
  cleanup();
  vi.restoreAllMocks();
});

function serve() {
  const posts: { url: string; body: unknown }[] = [];
  vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
    const url = String(input);
    const json = (v: unknown, status = 200) => new Response(JSON.stringify(v), { status, headers: { 'Content-Type': status < 300 ? 'application/json' : 'application/problem+json' } });
    if (url.endsWith('/t/acme/close') && init?.method === 'POST') {
      const body = JSON.parse(String(init.body));
      posts.push({ url, body });
      return json({ tenant_id: 't1', slug: 'acme', name: 'Acme', role: 'owner', purge_after: '2026-12-18T10:00:00Z' });
    }
    return json({ title: 'Not Found', status: 404 }, 404);
  });
  return posts;
}

describe('closing the company', () => {
  it('asks for the web address before it closes, in Chinese too, then leaves for the company list', async () => {
    await i18n.changeLanguage('zh');
    const posts = serve();
    render(
      <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
        <App>
          <MemoryRouter initialEntries={['/t/acme/settings']}>
            <Routes>
              <Route path="/t/acme/settings" element={<CloseCompanyCard slug="acme" name="Acme" />} />
              <Route path="/welcome" element={<p>welcome page</p>} />
            </Routes>
          </MemoryRouter>
        </App>
      </QueryClientProvider>,
    );
    expect(screen.getByTestId('close-company-card').textContent).toContain('关闭公司');
    fireEvent.click(screen.getByTestId('close-company'));
    const confirm = await screen.findByTestId('close-company-confirm', {}, slow);
    expect(confirm.closest('button')?.disabled).toBe(true);
    fireEvent.change(screen.getByTestId('close-company-slug'), { target: { value: 'acm' } });
    expect(confirm.closest('button')?.disabled).toBe(true);
    expect(posts).toHaveLength(0);
    fireEvent.change(screen.getByTestId('close-company-slug'), { target: { value: 'acme' } });
    expect(confirm.closest('button')?.disabled).toBe(false);
    fireEvent.click(confirm);
    await screen.findByText('welcome page', {}, slow);
    await waitFor(() => expect(posts).toEqual([{ url: expect.stringContaining('/api/v1/t/acme/close'), body: { confirm: 'acme' } }]));
    await i18n.changeLanguage('en');
  });
});
