// The ticket inbox: mine, unassigned or all, narrowed by status, newest first,
// in keyset pages; a new ticket from a customer or an email or phone. A link
// from a dashboard (drill-down) narrows it by priority, type, channel, status,
// assignee, team, custom fields and the metric's time through the URL.
import './locales';
import { useState } from 'react';
import { useInfiniteQuery, useMutation, useQueryClient } from '@tanstack/react-query';
import { Alert, App, Button, Card, Form, Input, Modal, Segmented, Select, Space, Table, Typography } from 'antd';
import { PlusOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate, useSearchParams } from 'react-router-dom';
import { get, post, tpath } from '../../app/api';
import { useTenant } from '../../app/session';
import { useFormat } from '../../app/useFormat';
import { EmptyState, ErrorState } from '../../app/states';
import { PageHeader } from '../access/shared';
import { useMembers } from '../customers/api';
import { placeErrors } from '../customers/form';
import { CHANNELS, type Page, PRIORITIES, STATUSES, type Ticket, TYPES, ticketNumber } from './api';
import { CustomerName, CustomerPicker, PriorityTag, SlaBadge, StatusTag, useNow } from './shared';

type Who = 'mine' | 'unassigned' | 'breaching' | 'all';

/** soonHours is how far ahead the breaching-soon view looks. */
export const soonHours = 4;

/** listQuery is the list's query string for a view: breaching soon is every ticket whose running target falls due within soonHours, soonest first. */
export function listQuery(who: Who, status: string[], now: number): Record<string, string | number> {
  return {
    ...(status.length ? { status: status.join(',') } : {}),
    ...(who === 'mine' ? { assignee: 'me' } : who === 'unassigned' ? { assignee: 'none' } : {}),
    ...(who === 'breaching' ? { sort: 'sla_due_at', 'sla_due_at[lte]': new Date(now + soonHours * 3_600_000).toISOString() } : {}),
  };
}

const drillKeys = new Set(['priority', 'type', 'channel', 'assignee', 'team', 'merged', 'with_sla']);
const drillTime = /^(created_at|first_responded_at|solved_at|csat_rated_at)\[(gte|lt)\]$/;

/**
 * drillFilters reads the filters a link gave the list: priority, type,
 * channel, assignee, team, merged, with_sla, custom fields, and the times a
 * dashboard's point gives (created, first answered, solved or rated, by the
 * metric).
 */
export function drillFilters(sp: URLSearchParams): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of new Set(sp.keys())) {
    if (!drillKeys.has(k) && !drillTime.test(k) && !k.startsWith('custom.')) continue;
    const v = sp.getAll(k).join(',');
    if (v) out[k] = v;
  }
  return out;
}

export default function TicketsPage() {
  const { t } = useTranslation('tickets');
  const tenant = useTenant();
  const f = useFormat();
  const members = useMembers(tenant.slug);
  const [sp, setSp] = useSearchParams();
  const drill = drillFilters(sp);
  const drilled = Object.keys(drill).length > 0;
  const [who, setWho] = useState<Who>(drilled ? 'all' : 'mine');
  const [status, setStatus] = useState<string[]>(sp.getAll('status').length ? sp.getAll('status') : drilled ? [] : ['new', 'open', 'pending', 'on_hold']);
  const [creating, setCreating] = useState(false);
  const now = useNow();
  const q = useInfiniteQuery({
    queryKey: ['tenant', tenant.slug, 'tickets', 'list', who, status.join(','), drill],
    queryFn: ({ pageParam }) =>
      get<Page<Ticket>>(tpath(tenant.slug, '/tickets'), {
        ...listQuery(who, status, Date.now()),
        ...drill,
        ...(pageParam ? { cursor: pageParam } : {}),
        limit: 50,
      }),
    initialPageParam: '',
    getNextPageParam: (last) => last.next_cursor || undefined,
  });
  const rows = q.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <div>
      <PageHeader title={t('title')} subtitle={t('subtitle')}
        extra={<Button type="primary" icon={<PlusOutlined />} onClick={() => setCreating(true)} data-testid="new-ticket">{t('new')}</Button>} />
      <Card>
        <Space wrap style={{ marginBottom: 16 }}>
          <Segmented<Who> value={who} onChange={setWho}
            options={[{ value: 'mine', label: t('mine') }, { value: 'unassigned', label: t('unassigned') }, { value: 'breaching', label: t('breachingSoon') }, { value: 'all', label: t('everyone') }]} />
          <Select mode="multiple" allowClear style={{ minWidth: 280 }} aria-label={t('status')} placeholder={t('status')} value={status} onChange={setStatus}
            options={STATUSES.map((s) => ({ value: s, label: t('status_' + s) }))} />
          {drilled && (
            <Space wrap data-testid="ticket-drill">
              {Object.entries(drill).map(([k, v]) => <Typography.Text key={k} code>{k}: {v}</Typography.Text>)}
              <Button size="small" onClick={() => setSp(new URLSearchParams())}>{t('clearFilters')}</Button>
            </Space>
          )}
        </Space>
        {q.error ? <ErrorState error={q.error} onRetry={() => q.refetch()} /> : (
          <>
            <Table<Ticket> rowKey="id" loading={q.isPending} dataSource={rows} pagination={false} scroll={{ x: 800 }}
              locale={{ emptyText: <EmptyState text={t('noTickets')} /> }}
              columns={[
                { title: '#', width: 80, render: (_, x) => <Typography.Text type="secondary">{ticketNumber(x)}</Typography.Text> },
                { title: t('subject'), render: (_, x) => <Link to={`/t/${tenant.slug}/tickets/${x.id}`}>{x.subject}</Link> },
                { title: t('status'), render: (_, x) => <StatusTag status={x.status} /> },
                { title: t('priority'), render: (_, x) => <PriorityTag priority={x.priority} /> },
                { title: t('requester'), render: (_, x) => <CustomerName id={x.requester_id} /> },
                { title: t('assignee'), render: (_, x) => members.name(x.assignee_id) ?? '' },
                { title: t('slaDue'), render: (_, x) => <SlaBadge ticket={x} now={now} /> },
                { title: t('updated'), render: (_, x) => <span style={{ whiteSpace: 'nowrap' }}>{f.relative(x.updated_at)}</span> },
              ]} />
            {q.hasNextPage && (
              <div style={{ textAlign: 'center', marginTop: 16 }}>
                <Button onClick={() => q.fetchNextPage()} loading={q.isFetchingNextPage}>{t('loadMore')}</Button>
              </div>
            )}
          </>
        )}
      </Card>
      {creating && <CreateTicket onClose={() => setCreating(false)} />}
    </div>
  );
}

interface NewTicket {
  subject: string;
  description?: string;
  requester_id?: string;
  requester_email?: string;
  requester_phone?: string;
  requester_name?: string;
  channel: string;
  type: string;
  priority: string;
}

function CreateTicket({ onClose }: { onClose: () => void }) {
  const { t } = useTranslation('tickets');
  const tenant = useTenant();
  const nav = useNavigate();
  const qc = useQueryClient();
  const { message } = App.useApp();
  const [form] = Form.useForm<NewTicket>();
  const [rest, setRest] = useState<string[]>([]);
  const create = useMutation({
    mutationFn: (v: NewTicket) => post<Ticket>(tpath(tenant.slug, '/tickets'), Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined && x !== ''))),
    onSuccess: (tk) => {
      void qc.invalidateQueries({ queryKey: ['tenant', tenant.slug, 'tickets'] });
      if (tk.requester_created) void message.info(t('leadCreated'));
      onClose();
      nav(`/t/${tenant.slug}/tickets/${tk.id}`);
    },
    onError: (err) => {
      const { fields, rest } = placeErrors(err, (n) => !!form.getFieldInstance(n as keyof NewTicket) || ['requester_id', 'channel', 'type', 'priority'].includes(n), form.getFieldsValue() as unknown as Record<string, unknown>);
      form.setFields(fields as Parameters<typeof form.setFields>[0]);
      setRest(rest);
    },
  });
  const opts = (keys: string[], prefix: string) => keys.map((k) => ({ value: k, label: t(prefix + k) }));
  return (
    <Modal open title={t('new')} onCancel={onClose} onOk={() => form.submit()} okText={t('save')} cancelText={t('cancel')} confirmLoading={create.isPending} destroyOnHidden>
      {rest.length > 0 && <Alert type="error" showIcon style={{ marginBottom: 12 }} message={rest.join(' ')} />}
      <Form form={form} layout="vertical" initialValues={{ channel: 'phone', type: 'question', priority: 'normal' }} onFinish={(v) => create.mutate(v)}>
        <Form.Item name="subject" label={t('subject')} rules={[{ required: true, max: 300 }]}><Input /></Form.Item>
        <Form.Item name="description" label={t('description')}><Input.TextArea rows={3} maxLength={20000} /></Form.Item>
        <Typography.Paragraph type="secondary" style={{ fontSize: 12 }}>{t('requesterHint')}</Typography.Paragraph>
        <Form.Item name="requester_id" label={t('requesterId')}><CustomerPicker /></Form.Item>
        <Space wrap style={{ width: '100%' }}>
          <Form.Item name="requester_email" label={t('requesterEmail')}><Input type="email" /></Form.Item>
          <Form.Item name="requester_phone" label={t('requesterPhone')}><Input /></Form.Item>
          <Form.Item name="requester_name" label={t('requesterName')}><Input /></Form.Item>
        </Space>
        <Space wrap>
          <Form.Item name="channel" label={t('channel')}><Select style={{ width: 150 }} options={opts(CHANNELS, 'channel_')} /></Form.Item>
          <Form.Item name="type" label={t('type')}><Select style={{ width: 150 }} options={opts(TYPES, 'type_')} /></Form.Item>
          <Form.Item name="priority" label={t('priority')}><Select style={{ width: 150 }} options={opts(PRIORITIES, 'priority_')} /></Form.Item>
        </Space>
      </Form>
    </Modal>
  );
}
