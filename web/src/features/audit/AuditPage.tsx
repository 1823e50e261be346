// The audit log, newest first: filter by entity, action, actor and time, page
// with the API's keyset cursor ("Load more"), and expand a row for its diff.
import { useMemo, useState } from 'react';
import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { Button, Card, DatePicker, Form, Input, Select, Space, Table, Tag, Typography } from 'antd';
import type { Dayjs } from 'dayjs';
import { useTranslation } from 'react-i18next';
import { get, tpath } from '../../app/api';
import { registerLocales } from '../../app/i18n';
import { useTenant } from '../../app/session';
import { useFormat } from '../../app/useFormat';
import { EmptyState, ErrorState } from '../../app/states';

registerLocales('audit', {
  en: {
    title: 'Audit log',
    subtitle: 'Every change in the company: who, when, what, and the values before and after. Sensitive values are masked.',
    when: 'When',
    actor: 'Who',
    action: 'Action',
    entity: 'Record',
    entityId: 'Record ID',
    anyEntity: 'Any record type',
    anyActor: 'Anyone',
    actionPlaceholder: 'e.g. customer.create',
    period: 'Period',
    apply: 'Apply',
    reset: 'Reset',
    field: 'Field',
    before: 'Before',
    after: 'After',
    system: 'System',
    apiKey: 'API key',
    noDiff: 'No field changes recorded.',
    loaded: '{{count}} entries shown',
  },
  zh: {
    title: '审计日志',
    subtitle: '公司内的每一次变更：操作人、时间、内容以及变更前后的值。敏感字段已脱敏。',
    when: '时间',
    actor: '操作人',
    action: '操作',
    entity: '记录类型',
    entityId: '记录 ID',
    anyEntity: '全部记录类型',
    anyActor: '所有人',
    actionPlaceholder: '例如 customer.create',
    period: '时间范围',
    apply: '筛选',
    reset: '重置',
    field: '字段',
    before: '变更前',
    after: '变更后',
    system: '系统',
    apiKey: 'API 密钥',
    noDiff: '没有记录字段变更。',
    loaded: '已显示 {{count}} 条',
  },
});

interface Row {
  id: string;
  occurred_at: string;
  actor_id?: string;
  actor_kind: string;
  action: string;
  entity: string;
  entity_id: string;
  diff: Record<string, { from?: unknown; to?: unknown }> | null;
}
interface Page {
  items: Row[];
  next_cursor?: string;
}
interface Filters {
  entity?: string;
  action?: string;
  actor?: string;
  entity_id?: string;
  period?: [Dayjs | null, Dayjs | null] | null;
}

const ENTITIES = ['customer', 'member', 'invitation', 'role', 'team', 'api_key', 'settings', 'field', 'import', 'export', 'segment', 'view', 'task', 'interaction', 'tenant'];

const show = (v: unknown) => (v === undefined || v === null ? '—' : typeof v === 'object' ? JSON.stringify(v) : String(v));

export default function AuditPage() {
  const { t } = useTranslation('audit');
  const tenant = useTenant();
  const f = useFormat();
  const [form] = Form.useForm<Filters>();
  const [filters, setFilters] = useState<Filters>({});
  const members = useQuery<{ identity_id: string; email: string; name: string }[]>({
    queryKey: ['tenant', tenant.slug, 'members'],
    queryFn: async () => (await get<{ items: { identity_id: string; email: string; name: string }[] }>(tpath(tenant.slug, '/members'))).items,
  });
  const who = useMemo(() => new Map((members.data ?? []).map((m) => [m.identity_id, m.name || m.email])), [members.data]);
  const query = {
    entity: filters.entity,
    action: filters.action?.trim(),
    actor: filters.actor,
    entity_id: filters.entity_id?.trim(),
    from: filters.period?.[0]?.startOf('day').toISOString(),
    to: filters.period?.[1]?.endOf('day').toISOString(),
    limit: 50,
  };
  const q = useInfiniteQuery<Page, Error>({
    queryKey: ['tenant', tenant.slug, 'audit', query],
    queryFn: ({ pageParam }) => get<Page>(tpath(tenant.slug, '/audit'), { ...query, cursor: pageParam as string | undefined }),
    initialPageParam: undefined,
    getNextPageParam: (last) => last.next_cursor || undefined,
  });
  const rows = q.data?.pages.flatMap((p) => p.items) ?? [];
  const actorName = (r: Row) => {
    if (r.actor_kind === 'system' || !r.actor_id) return <Tag>{t('system')}</Tag>;
    if (r.actor_kind === 'api_key') return <Tag color="purple">{t('apiKey')}</Tag>;
    return who.get(r.actor_id) ?? r.actor_id.slice(0, 8);
  };

  return (
    <div data-testid="audit-page">
      <Typography.Title level={1} style={{ marginTop: 0, fontSize: 28 }}>
        {t('title')}
      </Typography.Title>
      <Typography.Paragraph type="secondary">{t('subtitle')}</Typography.Paragraph>
      <Card style={{ marginBottom: 16 }}>
        <Form form={form} layout="inline" onFinish={(v) => setFilters(v)} style={{ rowGap: 12 }}>
          <Form.Item name="entity" label={t('entity')}>
            <Select allowClear placeholder={t('anyEntity')} style={{ width: 180 }} options={ENTITIES.map((e) => ({ value: e, label: e }))} />
          </Form.Item>
          <Form.Item name="action" label={t('action')}>
            <Input placeholder={t('actionPlaceholder')} style={{ width: 200 }} allowClear />
          </Form.Item>
          <Form.Item name="actor" label={t('actor')}>
            <Select
              allowClear
              showSearch
              optionFilterProp="label"
              placeholder={t('anyActor')}
              style={{ width: 200 }}
              options={(members.data ?? []).map((m) => ({ value: m.identity_id, label: m.name || m.email }))}
            />
          </Form.Item>
          <Form.Item name="entity_id" label={t('entityId')}>
            <Input style={{ width: 200 }} allowClear />
          </Form.Item>
          <Form.Item name="period" label={t('period')}>
            <DatePicker.RangePicker />
          </Form.Item>
          <Space>
            <Button type="primary" htmlType="submit">
              {t('apply')}
            </Button>
            <Button
              onClick={() => {
                form.resetFields();
                setFilters({});
              }}
            >
              {t('reset')}
            </Button>
          </Space>
        </Form>
      </Card>
      <Card>
        {q.error ? (
          <ErrorState error={q.error} onRetry={() => q.refetch()} />
        ) : (
          <>
            <Table<Row>
              rowKey="id"
              loading={q.isPending}
              dataSource={rows}
              pagination={false}
              size="middle"
              locale={{ emptyText: <EmptyState /> }}
              expandable={{
                rowExpandable: () => true,
                expandedRowRender: (r) =>
                  r.diff && Object.keys(r.diff).length ? (
                    <Table
                      size="small"
                      pagination={false}
                      rowKey="field"
                      dataSource={Object.entries(r.diff).map(([field, c]) => ({ field, before: c.from, after: c.to }))}
                      columns={[
                        { title: t('field'), dataIndex: 'field', render: (v: string) => <Typography.Text code>{v}</Typography.Text> },
                        { title: t('before'), dataIndex: 'before', render: (v: unknown) => <Typography.Text delete={v !== undefined && v !== null}>{show(v)}</Typography.Text> },
                        { title: t('after'), dataIndex: 'after', render: (v: unknown) => show(v) },
                      ]}
                    />
                  ) : (
                    <Typography.Text type="secondary">{t('noDiff')}</Typography.Text>
                  ),
              }}
              columns={[
                { title: t('when'), dataIndex: 'occurred_at', width: 200, render: (v: string) => <span title={v}>{f.dateTime(v)}</span> },
                { title: t('actor'), key: 'actor', width: 220, render: (_, r) => actorName(r) },
                { title: t('action'), dataIndex: 'action', render: (a: string) => <Tag color={a.endsWith('delete') || a.endsWith('remove') || a.endsWith('revoke') ? 'red' : a.endsWith('create') ? 'green' : 'blue'}>{a}</Tag> },
                { title: t('entity'), dataIndex: 'entity' },
                { title: t('entityId'), dataIndex: 'entity_id', render: (v: string) => <Typography.Text type="secondary" copyable={{ text: v }}>{v.length > 14 ? v.slice(0, 8) + '…' : v}</Typography.Text> },
              ]}
            />
            <div style={{ display: 'flex', justifyContent: 'space-between', alignItems: 'center', marginTop: 16 }}>
              <Typography.Text type="secondary">{t('loaded', { count: rows.length })}</Typography.Text>
              {q.hasNextPage ? (
                <Button onClick={() => q.fetchNextPage()} loading={q.isFetchingNextPage} data-testid="audit-more">
                  {t('common:state.loadMore')}
                </Button>
              ) : (
                rows.length > 0 && <Typography.Text type="secondary">{t('common:state.allLoaded')}</Typography.Text>
              )}
            </div>
          </>
        )}
      </Card>
    </div>
  );
}
