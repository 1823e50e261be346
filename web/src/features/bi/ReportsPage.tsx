// Scheduled reports: subscribe yourself to a report or a dashboard, see and
// stop your subscriptions, and open what was delivered to you (the report
// inbox) with its pictures, spreadsheet and PDF.
import './locales';
import { useQuery, useMutation, useQueryClient } from '@tanstack/react-query';
import { App, Button, Card, Form, Input, InputNumber, Select, Space, Table, Typography } from 'antd';
import { DownloadOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { del, errorMessage, formErrors, get, post, tpath } from '../../app/api';
import { useTenant } from '../../app/session';
import { useFormat } from '../../app/useFormat';
import { ErrorState, Loading } from '../../app/states';
import { PageHeader } from '../access/shared';
import { fileURL, schedule, size, subscriptionBody, type InboxItem, type SubscribeForm, type Subscription } from './subscriptions';

interface Named { id: string; name: string }

export default function ReportsPage() {
  const { t } = useTranslation('bi');
  const tenant = useTenant();
  const f = useFormat();
  const qc = useQueryClient();
  const { message } = App.useApp();
  const [form] = Form.useForm<SubscribeForm>();
  const key = ['tenant', tenant.slug, 'bi'];
  const reports = useQuery({ queryKey: [...key, 'reports'], queryFn: () => get<{ items: Named[] }>(tpath(tenant.slug, '/bi/reports'), { limit: 200 }) });
  const dashboards = useQuery({ queryKey: [...key, 'dashboards'], queryFn: () => get<{ items: Named[] }>(tpath(tenant.slug, '/bi/dashboards'), { limit: 200 }) });
  const subs = useQuery({ queryKey: [...key, 'subscriptions'], queryFn: () => get<{ items: Subscription[] }>(tpath(tenant.slug, '/bi/subscriptions'), { limit: 200 }) });
  const inbox = useQuery({ queryKey: [...key, 'inbox'], queryFn: () => get<{ items: InboxItem[] }>(tpath(tenant.slug, '/bi/inbox'), { limit: 50 }) });
  const subscribe = useMutation({
    mutationFn: (v: SubscribeForm) => post<Subscription>(tpath(tenant.slug, '/bi/subscriptions'), subscriptionBody(v)),
    onSuccess: () => {
      message.success(t('subscribed'));
      form.resetFields();
      void qc.invalidateQueries({ queryKey: [...key, 'subscriptions'] });
    },
    onError: (err) => {
      const { fields, rest } = formErrors(err);
      form.setFields(fields.map((x) => ({ name: (x.name[0] === 'report_id' || x.name[0] === 'dashboard_id' ? 'target' : x.name[0]) as keyof SubscribeForm, errors: x.errors })));
      if (rest.length || !fields.length) message.error(rest.join(' ') || errorMessage(err));
    },
  });
  const unsubscribe = useMutation({
    mutationFn: (id: string) => del(tpath(tenant.slug, `/bi/subscriptions/${id}`)),
    onSuccess: () => {
      message.success(t('unsubscribed'));
      void qc.invalidateQueries({ queryKey: [...key, 'subscriptions'] });
    },
    onError: (err) => message.error(errorMessage(err)),
  });

  const names: Record<string, string> = {};
  const targets = [
    ...(reports.data?.items ?? []).map((r) => { names[r.id] = r.name; return { value: `report:${r.id}`, label: t('target_report', { name: r.name }) }; }),
    ...(dashboards.data?.items ?? []).map((d) => { names[d.id] = d.name; return { value: `dashboard:${d.id}`, label: t('target_dashboard', { name: d.name }) }; }),
  ];
  const frequency = Form.useWatch('frequency', form);
  const tt = (k: string, o?: Record<string, unknown>) => t(k, o);

  if (subs.error) return <ErrorState error={subs.error} onRetry={() => subs.refetch()} />;
  return (
    <div>
      <PageHeader title={t('reports_title')} subtitle={t('reports_subtitle')} />
      <Card style={{ marginBottom: 16 }}>
        <Form<SubscribeForm> form={form} layout="inline" initialValues={{ frequency: 'weekly', weekday: 1, month_day: 1, time: '08:00' }}
          onFinish={(v) => subscribe.mutate(v)} data-testid="bi-subscribe">
          <Form.Item name="target" label={t('target')} rules={[{ required: true, message: t('target') }]}>
            <Select style={{ minWidth: 260 }} aria-label={t('target')} options={targets} loading={reports.isPending || dashboards.isPending} />
          </Form.Item>
          <Form.Item name="frequency" label={t('frequency')}>
            <Select style={{ minWidth: 120 }} aria-label={t('frequency')}
              options={(['daily', 'weekly', 'monthly'] as const).map((x) => ({ value: x, label: t(`freq_${x}`) }))} />
          </Form.Item>
          {frequency === 'weekly' && (
            <Form.Item name="weekday" label={t('weekday')}>
              <Select style={{ minWidth: 120 }} aria-label={t('weekday')} options={[1, 2, 3, 4, 5, 6, 7].map((d) => ({ value: d, label: t(`weekday_${d}`) }))} />
            </Form.Item>
          )}
          {frequency === 'monthly' && (
            <Form.Item name="month_day" label={t('month_day')}>
              <InputNumber min={1} max={31} aria-label={t('month_day')} />
            </Form.Item>
          )}
          <Form.Item name="time" label={t('time')} rules={[{ pattern: /^([01]\d|2[0-3]):[0-5]\d$/, message: t('time') }]}>
            <Input style={{ width: 90 }} aria-label={t('time')} />
          </Form.Item>
          <Form.Item>
            <Button type="primary" htmlType="submit" loading={subscribe.isPending}>{t('subscribe')}</Button>
          </Form.Item>
        </Form>
      </Card>
      <Card title={t('my_subscriptions')} style={{ marginBottom: 16 }}>
        {subs.isPending ? <Loading /> : (
          <Table<Subscription> rowKey="id" size="small" pagination={false} dataSource={subs.data?.items ?? []} locale={{ emptyText: t('no_subscriptions') }}
            scroll={{ x: 560 }}
            columns={[
              { title: t('report'), render: (_, s) => names[s.report_id ?? s.dashboard_id ?? ''] ?? '…' },
              { title: t('schedule'), render: (_, s) => schedule(s, tt) },
              { title: t('recipient'), render: (_, s) => (s.role ? t('role_of', { role: s.role }) : t('you')) },
              { title: t('next_run'), render: (_, s) => f.dateTime(s.next_run_at) },
              { title: '', render: (_, s) => <Button size="small" danger onClick={() => unsubscribe.mutate(s.id)}>{t('unsubscribe')}</Button> },
            ]} />
        )}
      </Card>
      <Card title={t('inbox')}>
        {inbox.error ? <ErrorState error={inbox.error} onRetry={() => inbox.refetch()} /> : inbox.isPending ? <Loading /> : (
          <Table<InboxItem> rowKey="id" size="small" pagination={false} dataSource={inbox.data?.items ?? []} locale={{ emptyText: t('inbox_empty') }}
            scroll={{ x: 560 }} data-testid="bi-inbox"
            columns={[
              { title: t('report'), dataIndex: 'title' },
              { title: t('period'), render: (_, i) => f.day(i.period) },
              {
                title: t('files'),
                render: (_, i) => i.files_expired_at ? (
                  <Typography.Text type="secondary" data-testid="bi-inbox-expired">{t('files_expired', { date: f.day(i.files_expired_at.slice(0, 10)) })}</Typography.Text>
                ) : (
                  <Space wrap>
                    {i.files.map((x) => (
                      <Typography.Link key={x.position} href={fileURL(tenant.slug, i.id, x.position)} download={x.name}>
                        <DownloadOutlined /> {x.name} ({size(x.size)})
                      </Typography.Link>
                    ))}
                  </Space>
                ),
              },
            ]} />
        )}
      </Card>
    </div>
  );
}
