import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { App } from 'antd';
import i18n from '../../app/i18n';
import { TenantContext } from '../../app/session';
import PipelinesDrawer from './PipelinesDrawer';
import type { Pipeline } from './board';

const slow = { timeout: 15_000 };

afterEach(() => {
  cleanup();
  vi.restoreAllMocks();
});

const stage = (id: string, en: string, zh: string, position: number, kind: 'open' | 'won' | 'lost' = 'open') =>
  ({ id, pipeline_id: 'p1', name_en: en, name_zh: zh, position, probability: 50, kind, rotting_days: 14 });
const pipeline: Pipeline = {
  id: 'p1', name_en: 'New business', name_zh: '新业务', is_default: true,
  stages: [stage('s1', 'Lead', '线索', 0), stage('s2', 'Proposal', '方案报价', 1), stage('s3', 'Won', '赢单', 2, 'won')],
};

function serve(perms: string[]) {
  const calls: { method: string; url: string; body?: unknown }[] = [];
  vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
    const url = String(input);
    const method = init?.method ?? 'GET';
    const json = (v: unknown, status = 200) => new Response(JSON.stringify(v), { status, headers: { 'Content-Type': status < 300 ? 'application/json' : 'application/problem+json' } });
    if (url.endsWith('/t/acme/me')) return json({ kind: 'user', role: 'x', scope: 'all', permissions: perms });
    if (method !== 'GET') {
      const body = init?.body ? JSON.parse(String(init.body)) : undefined;
      calls.push({ method, url: url.replace(/^.*\/api\/v1\/t\/acme/, ''), body });
      if (method === 'POST' && url.endsWith('/stages') && !body.name_en && !body.name_zh) {
        return json({ title: 'Unprocessable Entity', status: 422, detail: 'body.name_en: give a name', errors: [{ location: 'body.name_en', message: 'give a name in English or Chinese' }] }, 422);
      }
      return json(pipeline);
    }
    return json({ title: 'Not Found', status: 404 }, 404);
  });
  return calls;
}

function renderDrawer() {
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  render(
    <QueryClientProvider client={qc}>
      <App>
        <TenantContext.Provider value={{ tenant_id: 't1', slug: 'acme', name: 'Acme', role: 'owner' }}>
          <PipelinesDrawer open onClose={() => undefined} pipelines={[pipeline]} current="p1" onChoose={() => undefined} />
        </TenantContext.Provider>
      </App>
    </QueryClientProvider>,
  );
}

describe('the pipelines drawer', () => {
  it('adds a stage (a refusal at its field), moves one up and deletes one moving its deals', async () => {
    await i18n.changeLanguage('en');
    const calls = serve(['deals.read', 'deals.manage']);
    renderDrawer();
    await screen.findByTestId('stage-add', {}, slow);
    const table = screen.getByTestId('stages-table');
    expect(within(table).getByText('Proposal')).toBeTruthy();

    // Add: a stage without a name is refused at the name.
    fireEvent.click(screen.getByTestId('stage-add'));
    const dialog = (await screen.findByTestId('stage-form', {}, slow)).closest('.ant-modal') as HTMLElement;
    fireEvent.click(within(dialog).getByRole('button', { name: /ok/i }));
    await within(dialog).findByText('give a name in English or Chinese', {}, slow);
    fireEvent.change(within(dialog).getByLabelText('Name (English)'), { target: { value: 'Demo' } });
    fireEvent.click(within(dialog).getByRole('button', { name: /ok/i }));
    await waitFor(() => expect(calls.filter((c) => c.method === 'POST')).toHaveLength(2));
    expect(calls[1]).toMatchObject({ url: '/pipelines/p1/stages', body: { name_en: 'Demo', probability: 50, kind: 'open', rotting_days: 14 } });

    // Reorder: Proposal goes before Lead.
    fireEvent.click(screen.getByRole('button', { name: 'Move Proposal up' }));
    await waitFor(() => expect(calls.some((c) => c.method === 'PUT')).toBe(true));
    expect(calls.find((c) => c.method === 'PUT')).toEqual({ method: 'PUT', url: '/pipelines/p1/stage-order', body: { stage_ids: ['s2', 's1', 's3'] } });

    // Delete Lead, its deals going to Proposal.
    fireEvent.click(screen.getByRole('button', { name: 'Delete Lead' }));
    const pop = await screen.findByText('Delete the stage Lead?', {}, slow);
    const box = pop.closest('.ant-popover') as HTMLElement;
    fireEvent.mouseDown(within(box).getByRole('combobox'));
    fireEvent.click(await screen.findByTitle('Proposal', {}, slow));
    fireEvent.click(within(box).getByText('OK').closest('button') as HTMLElement);
    await waitFor(() => expect(calls.some((c) => c.method === 'DELETE')).toBe(true), slow);
    expect(calls.find((c) => c.method === 'DELETE')?.url).toBe('/pipelines/p1/stages/s1?target_stage_id=s2');
  }, 90_000);

  it('shows the stages in Chinese, read-only without deals.manage', async () => {
    await i18n.changeLanguage('zh');
    serve(['deals.read']);
    renderDrawer();
    const table = await screen.findByTestId('stages-table', {}, slow);
    expect(within(table).getAllByText('赢单').length).toBe(2); // its name, and its kind
    expect(within(table).getByText('方案报价')).toBeTruthy();
    expect(screen.queryByTestId('stage-add')).toBeNull();
    expect(screen.queryByTestId('pipeline-new')).toBeNull();
    await i18n.changeLanguage('en');
  });
});
