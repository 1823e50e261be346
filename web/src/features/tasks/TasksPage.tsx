// Follow-ups: my tasks or a member's, open or done, soonest due first, with the
// customer each is about; complete and snooze from the row.
import '../customers/locales';
import { useState } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Card, Segmented, Space, Table, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router-dom';
import { get, tpath } from '../../app/api';
import { useMe, useTenant } from '../../app/session';
import { useFormat } from '../../app/useFormat';
import { EmptyState, ErrorState } from '../../app/states';
import { PageHeader } from '../access/shared';
import { type Customer } from '../customers/api';
import { MemberSelect } from '../customers/MemberSelect';
import { type Task, TaskActions } from '../customers/CustomerTasks';

function CustomerName({ id }: { id: string }) {
  const tenant = useTenant();
  const c = useQuery({ queryKey: ['tenant', tenant.slug, 'customer', id], queryFn: () => get<Customer>(tpath(tenant.slug, `/customers/${id}`)), retry: false, staleTime: 60_000 });
  return <Link to={`/t/${tenant.slug}/customers/${id}`}>{c.data?.name ?? '…'}</Link>;
}

export default function TasksPage() {
  const { t } = useTranslation(['customers', 'common']);
  const tenant = useTenant();
  const me = useMe().data!;
  const f = useFormat();
  const qc = useQueryClient();
  const [who, setWho] = useState<string>('me');
  const [status, setStatus] = useState('open');
  const q = useQuery({
    queryKey: ['tenant', tenant.slug, 'tasks', 'list', who, status],
    queryFn: () => get<{ items: Task[] }>(tpath(tenant.slug, '/tasks'), { status, assignee: who, limit: 200 }),
  });
  const now = Date.now();
  return (
    <div>
      <PageHeader title={t('allTasks')} subtitle={t('tasksSubtitle')} />
      <Card>
        <Space wrap style={{ marginBottom: 16 }}>
          <Segmented value={who === 'me' ? 'me' : 'member'} onChange={(v) => setWho(v === 'me' ? 'me' : me.identity.id)}
            options={[{ value: 'me', label: t('myTasks') }, { value: 'member', label: t('memberTasks') }]} />
          {who !== 'me' && <MemberSelect style={{ width: 220 }} aria-label={t('assignee')} value={who} onChange={(v) => setWho(v || 'me')} />}
          <Segmented value={status} onChange={(v) => setStatus(v as string)}
            options={['open', 'done'].map((s) => ({ value: s, label: t('status_' + s) }))} />
        </Space>
        {q.error ? <ErrorState error={q.error} onRetry={() => q.refetch()} /> : (
          <Table<Task> rowKey="id" loading={q.isPending} dataSource={q.data?.items ?? []} pagination={{ pageSize: 50, hideOnSinglePage: true }}
            locale={{ emptyText: <EmptyState text={t('noTasksAll')} /> }}
            columns={[
              {
                title: t('taskTitle'),
                render: (_, x) => (
                  <Space direction="vertical" size={0}>
                    <Typography.Text strong>{x.title}</Typography.Text>
                    {x.notes && <Typography.Text type="secondary" style={{ fontSize: 12 }}>{x.notes}</Typography.Text>}
                  </Space>
                ),
              },
              { title: t('customer'), render: (_, x) => (x.customer_id ? <CustomerName id={x.customer_id} /> : null) },
              {
                title: t('due'),
                render: (_, x) => {
                  const overdue = x.status === 'open' && x.due_at && Date.parse(x.due_at) < now;
                  return x.due_at ? <span style={{ color: overdue ? 'var(--c-bad)' : undefined, whiteSpace: 'nowrap' }}>{f.dateTime(x.due_at)}{overdue && ` · ${t('overdue')}`}</span> : null;
                },
              },
              { title: t('remind'), render: (_, x) => <span style={{ whiteSpace: 'nowrap' }}>{f.dateTime(x.remind_at)}</span> },
              ...(status === 'done' ? [{ title: t('status_done'), render: (_: unknown, x: Task) => f.dateTime(x.completed_at) }] : []),
              { title: '', align: 'right', render: (_, x) => <TaskActions task={x} onChanged={() => qc.invalidateQueries({ queryKey: ['tenant', tenant.slug, 'tasks'] })} /> },
            ]} />
        )}
      </Card>
    </div>
  );
}
