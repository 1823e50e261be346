// One webhook's delivery log: state, attempts, the last answer, replays one by
// one or of every failed delivery of the last day. It refreshes itself while
// deliveries are on their way.
import { useState } from 'react';
import { App, Button, Card, Descriptions, Select, Space, Table, Tag, Typography } from 'antd';
import { ArrowLeftOutlined, ReloadOutlined } from '@ant-design/icons';
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { Link, useParams } from 'react-router-dom';
import { errorMessage, get, post, tpath } from '../../app/api';
import { useTenant } from '../../app/session';
import { useFormat } from '../../app/useFormat';
import { EmptyState, ErrorState, Loading } from '../../app/states';
import { PageHeader } from '../access/shared';
import { outcome, statusColor, type Delivery, type DeliveryStatus, type Subscription } from './webhooks';
import './locales';

interface Page {
  items: Delivery[];
  next_cursor?: string;
}

export default function WebhookPage() {
  const { t } = useTranslation('webhooks');
  const { id = '' } = useParams();
  const tenant = useTenant();
  const f = useFormat();
  const qc = useQueryClient();
  const { message } = App.useApp();
  const [status, setStatus] = useState<DeliveryStatus | ''>('');
  const base = tpath(tenant.slug, `/webhooks/${id}`);
  const sub = useQuery<Subscription, Error>({ queryKey: ['tenant', tenant.slug, 'webhooks', id], queryFn: () => get<Subscription>(base) });
  const logKey = ['tenant', tenant.slug, 'webhooks', id, 'deliveries', status];
  const log = useInfiniteQuery<Page, Error>({
    queryKey: logKey,
    initialPageParam: '',
    queryFn: ({ pageParam }) => get<Page>(`${base}/deliveries`, { status: status || undefined, cursor: (pageParam as string) || undefined, limit: 50 }),
    getNextPageParam: (p) => p.next_cursor || undefined,
    // While something is on its way, look again every few seconds.
    refetchInterval: (q) => (q.state.data?.pages.some((p) => p.items.some((d) => d.status === 'pending' || d.status === 'sending')) ? 3000 : false),
  });
  const refresh = () => void qc.invalidateQueries({ queryKey: ['tenant', tenant.slug, 'webhooks', id] });
  const replay = useMutation({
    mutationFn: (d: string) => post(`${base}/deliveries/${d}/replay`),
    onSuccess: () => {
      message.success(t('replayed'));
      refresh();
    },
    onError: (e) => message.error(errorMessage(e)),
  });
  const replayFailed = useMutation({
    mutationFn: () => post<{ queued: number }>(`${base}/replay`, { status: 'failed', since: new Date(Date.now() - 24 * 3600 * 1000).toISOString() }),
    onSuccess: (r) => {
      message.success(t('replayFailedDone', { count: r.queued }));
      refresh();
    },
    onError: (e) => message.error(errorMessage(e)),
  });
  const test = useMutation({
    mutationFn: () => post(`${base}/test`),
    onSuccess: () => {
      message.success(t('testSent'));
      refresh();
    },
    onError: (e) => message.error(errorMessage(e)),
  });
  if (sub.error) return <ErrorState error={sub.error} onRetry={() => sub.refetch()} />;
  if (!sub.data) return <Loading />;
  const s = sub.data;
  const rows = log.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <div data-testid="webhook-page">
      <Link to={`/t/${tenant.slug}/webhooks`}>
        <ArrowLeftOutlined /> {t('back')}
      </Link>
      <PageHeader
        title={t('log')}
        subtitle={t('logHelp')}
        extra={
          <Space wrap>
            <Button onClick={() => test.mutate()} disabled={!s.enabled} data-testid="webhook-test">
              {t('test')}
            </Button>
            <Button onClick={() => replayFailed.mutate()} disabled={!s.enabled} loading={replayFailed.isPending}>
              {t('replayFailed')}
            </Button>
            <Button icon={<ReloadOutlined />} aria-label={t('refresh')} onClick={refresh} />
          </Space>
        }
      />
      <Card style={{ marginBottom: 16 }}>
        <Descriptions size="small" column={{ xs: 1, md: 2 }}>
          <Descriptions.Item label={t('url')}>
            <Typography.Text code copyable>
              {s.url}
            </Typography.Text>
          </Descriptions.Item>
          <Descriptions.Item label={t('status')}>
            {s.enabled ? <Tag color="green">{t('on')}</Tag> : <Tag color="red">{t('off')}</Tag>}
            {!s.enabled && s.disabled_reason}
          </Descriptions.Item>
          <Descriptions.Item label={t('events')}>{s.events.map((e) => <Tag key={e}>{e}</Tag>)}</Descriptions.Item>
          <Descriptions.Item label={t('secret')}>{t('secretHint', { hint: s.secret_hint })}</Descriptions.Item>
        </Descriptions>
      </Card>
      <Card
        title={t('deliveries')}
        extra={
          <Select<DeliveryStatus | ''>
            value={status}
            onChange={setStatus}
            style={{ minWidth: 140 }}
            aria-label={t('filterStatus')}
            options={[{ value: '', label: t('anyStatus') }, ...(['pending', 'sending', 'succeeded', 'failed'] as const).map((v) => ({ value: v, label: t(`statuses.${v}`) }))]}
          />
        }
      >
        {log.error ? (
          <ErrorState error={log.error} onRetry={() => log.refetch()} />
        ) : (
          <Table<Delivery>
            rowKey="id"
            size="small"
            loading={log.isPending}
            dataSource={rows}
            pagination={false}
            scroll={{ x: 'max-content' }}
            locale={{ emptyText: <EmptyState text={t('noDeliveries')} /> }}
            expandable={{ expandedRowRender: (d) => <DeliveryDetail base={base} d={d} /> }}
            columns={[
              { title: t('event'), dataIndex: 'event_type', render: (v: string) => <Typography.Text code>{v}</Typography.Text> },
              {
                title: t('status'),
                dataIndex: 'status',
                render: (v: DeliveryStatus, d) => (
                  <Space direction="vertical" size={0}>
                    <Tag color={statusColor(v)}>{t(`statuses.${v}`)}</Tag>
                    {v === 'pending' && d.next_attempt_at && d.attempts > 0 && <Typography.Text type="secondary">{t('nextAttempt', { when: f.relative(d.next_attempt_at) })}</Typography.Text>}
                  </Space>
                ),
              },
              { title: t('sequence'), dataIndex: 'sequence', render: (v?: number) => v ?? '–' },
              { title: t('attempts'), dataIndex: 'attempts' },
              { title: t('lastAnswer'), key: 'last', render: (_, d) => <Typography.Text type={d.status === 'failed' ? 'danger' : undefined}>{outcome(d)}</Typography.Text> },
              { title: t('created'), dataIndex: 'created_at', render: (v: string) => f.dateTime(v) },
              {
                title: '',
                key: 'a',
                render: (_, d) =>
                  (d.status === 'failed' || d.status === 'succeeded') && (
                    <Button size="small" onClick={() => replay.mutate(d.id)} disabled={!s.enabled} data-testid="delivery-replay">
                      {t('replay')}
                    </Button>
                  ),
              },
            ]}
          />
        )}
        {log.hasNextPage && (
          <Button block style={{ marginTop: 12 }} onClick={() => log.fetchNextPage()} loading={log.isFetchingNextPage}>
            {t('loadMore')}
          </Button>
        )}
      </Card>
    </div>
  );
}

function DeliveryDetail({ base, d }: { base: string; d: Delivery }) {
  const { t } = useTranslation('webhooks');
  const full = useQuery<Delivery, Error>({ queryKey: ['delivery', d.id], queryFn: () => get<Delivery>(`${base}/deliveries/${d.id}`) });
  return (
    <Space direction="vertical" style={{ width: '100%' }}>
      {d.last_response && (
        <>
          <Typography.Text strong>{t('response')}</Typography.Text>
          <pre style={{ whiteSpace: 'pre-wrap', wordBreak: 'break-all', margin: 0, maxHeight: 200, overflow: 'auto' }}>{d.last_response}</pre>
        </>
      )}
      {full.data?.body != null && (
        <>
          <Typography.Text strong>{t('body')}</Typography.Text>
          <pre style={{ whiteSpace: 'pre-wrap', wordBreak: 'break-all', margin: 0, maxHeight: 300, overflow: 'auto' }}>{JSON.stringify(full.data.body, null, 2)}</pre>
        </>
      )}
    </Space>
  );
}
