// Follow-ups: my open tasks (or everyone's), due and reminder times, complete
// and snooze.
import { useState } from 'react';
import { useMutation, useQuery } from '@tanstack/react-query';
import { App, Button, Card, Radio, Space, Table, Tag } from 'antd';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router-dom';
import { errorMessage, get, post, tpath } from '../../app/api';
import { useMe, useTenant } from '../../app/session';
import { useFormat } from '../../app/useFormat';
import { EmptyState, ErrorState } from '../../app/states';
import { PageHeader } from '../access/shared';
import '../customers/locales';

interface Task { id: string; title: string; due_at?: string; remind_at?: string; status: string; customer_id?: string; assignee_id: string }

export default function TasksPage() {
  const { t } = useTranslation(['customers', 'common']);
  const tenant = useTenant();
  const me = useMe().data!;
  const f = useFormat();
  const { message } = App.useApp();
  const [mine, setMine] = useState(true);
  const q = useQuery({
    queryKey: ['tenant', tenant.slug, 'tasks', mine],
    queryFn: () => get<{ items: Task[] }>(tpath(tenant.slug, '/tasks'), { status: 'open', assignee: mine ? me.identity.id : undefined }),
  });
  const act = useMutation({ mutationFn: (fn: () => Promise<unknown>) => fn(), onSuccess: () => q.refetch(), onError: (e) => message.error(errorMessage(e)) });
  const now = Date.now();
  return (
    <div>
      <PageHeader title={t('tasks')} extra={<Radio.Group value={mine} onChange={(e) => setMine(e.target.value)} options={[{ value: true, label: '👤' }, { value: false, label: '👥' }]} optionType="button" />} />
      <Card>
        {q.error ? <ErrorState error={q.error} onRetry={() => q.refetch()} /> : (
          <Table<Task> rowKey="id" loading={q.isPending} dataSource={q.data?.items ?? []} pagination={false} locale={{ emptyText: <EmptyState /> }}
            columns={[
              { title: t('taskTitle'), render: (_, x) => (x.customer_id ? <Link to={`/t/${tenant.slug}/customers/${x.customer_id}`}>{x.title}</Link> : x.title) },
              { title: t('due'), render: (_, x) => <Space>{f.dateTime(x.due_at)}{x.due_at && Date.parse(x.due_at) < now && <Tag color="red">!</Tag>}</Space> },
              { title: t('remind'), render: (_, x) => f.dateTime(x.remind_at) },
              {
                title: '', align: 'right', render: (_, x) => (
                  <Space>
                    <Button size="small" onClick={() => act.mutate(() => post(tpath(tenant.slug, `/tasks/${x.id}/complete`)))}>{t('complete')}</Button>
                    <Button size="small" onClick={() => act.mutate(() => post(tpath(tenant.slug, `/tasks/${x.id}/snooze`), { until: new Date(Date.now() + 86400000).toISOString() }))}>{t('snooze')}</Button>
                  </Space>
                ),
              },
            ]} />
        )}
      </Card>
    </div>
  );
}
