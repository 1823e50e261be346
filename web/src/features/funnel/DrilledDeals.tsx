// The deals behind a dashboard's point (drill-down): the deal list of every
// pipeline, narrowed by what the link carries (pipeline, stage, owner, the
// owner's team, source, tag, currency, custom fields and the times a funnel metric counts
// deals by), newest first, in keyset pages.
import './locales';
import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { Button, Card, Space, Table, Tag, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { get, tpath } from '../../app/api';
import { useTenant } from '../../app/session';
import { useFormat } from '../../app/useFormat';
import { EmptyState, ErrorState } from '../../app/states';
import { PageHeader } from '../access/shared';
import { useMembers } from '../customers/api';
import { CustomerName } from '../tickets/shared';
import { stageName, type Deal, type Pipeline } from './board';

/** Drill is the filters of a link, each parameter with its values in order. */
export type Drill = [string, string][];

const plainKeys = new Set(['pipeline_id', 'stage_id', 'owner', 'owner[empty]', 'team', 'team[empty]', 'source', 'source[empty]', 'tag', 'tag[empty]', 'currency', 'open_at']);
const timeKey = /^(created_at|won_at|lost_at|closed_at)\[(gte|lt)\]$/;

/** dealDrill reads the deal list filters a link gave the page; none: the board as usual. */
export function dealDrill(sp: URLSearchParams): Drill {
  const out: Drill = [];
  for (const [k, v] of sp) if (plainKeys.has(k) || timeKey.test(k) || k.startsWith('custom.')) out.push([k, v]);
  return out;
}

/** drillQuery is the list's query string of a drill: repeated parameters stay lists. */
export function drillQuery(d: Drill): Record<string, string | string[]> {
  const q: Record<string, string | string[]> = {};
  for (const [k, v] of d) {
    const had = q[k];
    q[k] = had === undefined ? v : [...(Array.isArray(had) ? had : [had]), v];
  }
  return q;
}

interface Page {
  items: Deal[];
  next_cursor?: string;
}

export default function DrilledDeals({ drill, onClear }: { drill: Drill; onClear: () => void }) {
  const { t, i18n } = useTranslation('funnel');
  const tenant = useTenant();
  const f = useFormat();
  const members = useMembers(tenant.slug);
  const pipelines = useQuery({
    queryKey: ['tenant', tenant.slug, 'pipelines'],
    queryFn: () => get<{ items: Pipeline[] }>(tpath(tenant.slug, '/pipelines')),
    staleTime: 60_000,
  });
  const stages = new Map((pipelines.data?.items ?? []).flatMap((p) => p.stages.map((s) => [s.id, s] as const)));
  const q = useInfiniteQuery({
    queryKey: ['tenant', tenant.slug, 'deals', 'drill', drill],
    queryFn: ({ pageParam }) => get<Page>(tpath(tenant.slug, '/deals'), { ...drillQuery(drill), ...(pageParam ? { cursor: pageParam } : {}), limit: 50 }),
    initialPageParam: '',
    getNextPageParam: (last) => last.next_cursor || undefined,
  });
  const rows = q.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <div>
      <PageHeader title={t('drill.title')} subtitle={t('drill.subtitle')} />
      <Card>
        <Space wrap style={{ marginBottom: 16 }} data-testid="deal-drill">
          {drill.map(([k, v], i) => <Typography.Text key={i} code>{k}: {v}</Typography.Text>)}
          <Button size="small" onClick={onClear}>{t('drill.board')}</Button>
        </Space>
        {q.error ? <ErrorState error={q.error} onRetry={() => q.refetch()} /> : (
          <>
            <Table<Deal> rowKey="id" loading={q.isPending} dataSource={rows} pagination={false} scroll={{ x: 800 }}
              locale={{ emptyText: <EmptyState text={t('drill.none')} /> }}
              columns={[
                { title: t('drill.deal'), render: (_, d) => d.title },
                { title: t('drill.customer'), render: (_, d) => <CustomerName id={d.customer_id} /> },
                { title: t('drill.amount'), align: 'right', render: (_, d) => <span style={{ whiteSpace: 'nowrap' }}>{f.money(d.amount, d.currency)}</span> },
                { title: t('drill.stage'), render: (_, d) => { const s = stages.get(d.stage_id); return s ? <Tag>{stageName(s, i18n.language)}</Tag> : null; } },
                { title: t('owner'), render: (_, d) => members.name(d.owner_id) ?? '' },
                { title: t('drill.closed'), render: (_, d) => (d.won_at ? `${t('won')} ${f.dateTime(d.won_at)}` : d.lost_at ? `${t('lost')} ${f.dateTime(d.lost_at)}` : '') },
              ]} />
            {q.hasNextPage && (
              <div style={{ textAlign: 'center', marginTop: 16 }}>
                <Button onClick={() => q.fetchNextPage()} loading={q.isFetchingNextPage}>{t('loadMore')}</Button>
              </div>
            )}
          </>
        )}
      </Card>
    </div>
  );
}
