// Webhooks: subscriptions (the secret is shown once, with a copy button),
// test events, secret rotation, switching on and off, and each one's delivery
// log with replays (WebhookPage).
import { useState } from 'react';
import { Alert, App, Button, Card, Dropdown, Form, Input, Modal, Select, Space, Table, Tag, Typography } from 'antd';
import { ApiOutlined, CopyOutlined, MoreOutlined, PlusOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router-dom';
import { del, errorMessage, formErrors, get, patch, post, tpath } from '../../app/api';
import { useTenant } from '../../app/session';
import { useFormat } from '../../app/useFormat';
import { EmptyState, ErrorState } from '../../app/states';
import { PageHeader } from '../access/shared';
import { groupEvents, type Subscription } from './webhooks';
import './locales';

export default function WebhooksPage() {
  const { t } = useTranslation('webhooks');
  const tenant = useTenant();
  const f = useFormat();
  const qc = useQueryClient();
  const { message, modal } = App.useApp();
  const key = ['tenant', tenant.slug, 'webhooks'];
  const subs = useQuery<Subscription[], Error>({ queryKey: key, queryFn: async () => (await get<{ items: Subscription[] }>(tpath(tenant.slug, '/webhooks'))).items });
  const [creating, setCreating] = useState(false);
  const [secret, setSecret] = useState<string | null>(null);
  const refresh = () => void qc.invalidateQueries({ queryKey: key });
  const act = useMutation({
    mutationFn: async ({ id, what }: { id: string; what: 'test' | 'rotate' | 'on' | 'off' | 'delete' }) => {
      const p = tpath(tenant.slug, `/webhooks/${id}`);
      switch (what) {
        case 'test':
          await post(`${p}/test`);
          return { what };
        case 'rotate':
          return { what, secret: (await post<{ secret: string }>(`${p}/rotate-secret`, {})).secret };
        case 'on':
        case 'off':
          await patch(p, { enabled: what === 'on' });
          return { what };
        case 'delete':
          await del(p);
          return { what };
      }
    },
    onSuccess: (r) => {
      if (r?.what === 'test') message.success(t('testSent'));
      if (r && 'secret' in r && r.secret) setSecret(r.secret);
      refresh();
    },
    onError: (e) => message.error(errorMessage(e)),
  });
  if (subs.error) return <ErrorState error={subs.error} onRetry={() => subs.refetch()} />;
  return (
    <div data-testid="webhooks-page">
      <PageHeader
        title={t('title')}
        subtitle={t('subtitle')}
        extra={
          <Button type="primary" icon={<PlusOutlined />} onClick={() => setCreating(true)} data-testid="webhook-create">
            {t('create')}
          </Button>
        }
      />
      <Card>
        <Table<Subscription>
          rowKey="id"
          loading={subs.isPending}
          dataSource={subs.data}
          pagination={false}
          scroll={{ x: 'max-content' }}
          locale={{ emptyText: <EmptyState text={t('empty')} /> }}
          columns={[
            {
              title: t('url'),
              dataIndex: 'url',
              render: (u: string, s) => (
                <Space direction="vertical" size={0}>
                  <Link to={`/t/${tenant.slug}/webhooks/${s.id}`} data-testid="webhook-link">
                    <Typography.Text code>{u}</Typography.Text>
                  </Link>
                  {s.description && <Typography.Text type="secondary">{s.description}</Typography.Text>}
                </Space>
              ),
            },
            { title: t('events'), dataIndex: 'events', render: (evs: string[]) => evs.map((e) => <Tag key={e}>{e}</Tag>) },
            {
              title: t('status'),
              key: 'status',
              render: (_, s) => (
                <Space direction="vertical" size={0}>
                  {s.enabled ? <Tag color="green">{t('on')}</Tag> : <Tag color="red">{t('off')}</Tag>}
                  {s.failure_streak > 0 && <Typography.Text type="warning">{t('streak', { count: s.failure_streak })}</Typography.Text>}
                  {!s.enabled && s.disabled_reason && (
                    <Typography.Text type="secondary" style={{ maxWidth: 320, display: 'inline-block' }}>
                      {s.disabled_reason}
                    </Typography.Text>
                  )}
                </Space>
              ),
            },
            { title: t('secret'), dataIndex: 'secret_hint', render: (h: string) => <Typography.Text type="secondary">{t('secretHint', { hint: h })}</Typography.Text> },
            { title: t('created'), dataIndex: 'created_at', render: (v: string) => f.date(v) },
            {
              title: '',
              key: 'actions',
              render: (_, s) => (
                <Space>
                  <Link to={`/t/${tenant.slug}/webhooks/${s.id}`}>{t('deliveries')}</Link>
                  <Button size="small" disabled={!s.enabled} onClick={() => act.mutate({ id: s.id, what: 'test' })} data-testid="webhook-test">
                    {t('test')}
                  </Button>
                  <Dropdown
                    trigger={['click']}
                    menu={{
                      items: [
                        { key: 'rotate', label: t('rotate') },
                        { key: 'toggle', label: s.enabled ? t('switchOff') : t('switchOn') },
                        { type: 'divider' },
                        { key: 'delete', label: t('delete'), danger: true },
                      ],
                      onClick: ({ key }) => {
                        if (key === 'toggle') act.mutate({ id: s.id, what: s.enabled ? 'off' : 'on' });
                        if (key === 'rotate') modal.confirm({ title: t('rotate'), content: t('rotateConfirm'), onOk: () => act.mutate({ id: s.id, what: 'rotate' }) });
                        if (key === 'delete')
                          modal.confirm({ title: t('delete'), content: t('deleteConfirm', { url: s.url }), okButtonProps: { danger: true }, onOk: () => act.mutate({ id: s.id, what: 'delete' }) });
                      },
                    }}
                  >
                    <Button size="small" icon={<MoreOutlined />} aria-label={t('more')} />
                  </Dropdown>
                </Space>
              ),
            },
          ]}
        />
      </Card>
      {creating && (
        <CreateWebhook
          onClose={() => setCreating(false)}
          onCreated={(s) => {
            setCreating(false);
            setSecret(s);
            refresh();
          }}
        />
      )}
      <SecretModal secret={secret} onClose={() => setSecret(null)} />
    </div>
  );
}

function SecretModal({ secret, onClose }: { secret: string | null; onClose: () => void }) {
  const { t } = useTranslation('webhooks');
  const { message } = App.useApp();
  return (
    <Modal
      open={!!secret}
      title={
        <Space>
          <ApiOutlined />
          {t('newSecret')}
        </Space>
      }
      onCancel={onClose}
      footer={
        <Button type="primary" onClick={onClose}>
          {t('common:action.done')}
        </Button>
      }
      destroyOnHidden
    >
      {secret && (
        <>
          <Alert type="warning" showIcon message={t('shownOnce')} style={{ marginBottom: 16 }} />
          <Space.Compact style={{ width: '100%' }}>
            <Input readOnly value={secret} aria-label={t('newSecret')} data-testid="webhook-secret" onFocus={(e) => e.target.select()} style={{ fontFamily: 'monospace' }} />
            <Button
              icon={<CopyOutlined />}
              onClick={async () => {
                try {
                  await navigator.clipboard.writeText(secret);
                  message.success(t('common:action.copied'));
                } catch {
                  message.info(t('shownOnce'));
                }
              }}
            >
              {t('copy')}
            </Button>
          </Space.Compact>
        </>
      )}
    </Modal>
  );
}

function CreateWebhook({ onClose, onCreated }: { onClose: () => void; onCreated: (secret: string) => void }) {
  const { t } = useTranslation('webhooks');
  const tenant = useTenant();
  const [form] = Form.useForm();
  const [busy, setBusy] = useState(false);
  const [rest, setRest] = useState<string[]>([]);
  const options = [
    { label: t('allEvents'), value: '*' },
    ...groupEvents().map((g) => ({
      label: g.object,
      title: g.object,
      options: [{ label: t('allOf', { object: g.object, wildcard: g.wildcard }), value: g.wildcard }, ...g.events.map((e) => ({ label: e, value: e }))],
    })),
  ];
  async function submit(v: { url: string; events: string[]; description?: string }) {
    setBusy(true);
    setRest([]);
    try {
      const r = await post<{ secret: string }>(tpath(tenant.slug, '/webhooks'), v);
      onCreated(r.secret);
    } catch (e) {
      const { fields, rest } = formErrors(e);
      // "events[2]" belongs to the one events picker.
      const byName = new Map<string, { name: (string | number)[]; errors: string[] }>();
      for (const fe of fields) {
        const name = fe.name[0] === 'events' ? ['events'] : fe.name;
        const k = name.join('.');
        byName.set(k, { name, errors: [...(byName.get(k)?.errors ?? []), ...fe.errors] });
      }
      form.setFields([...byName.values()]);
      setRest(rest);
    } finally {
      setBusy(false);
    }
  }
  return (
    <Modal open title={t('create')} onCancel={onClose} onOk={() => form.submit()} confirmLoading={busy} okText={t('create')} destroyOnHidden>
      {rest.map((m) => (
        <Alert key={m} type="error" showIcon message={m} style={{ marginBottom: 12 }} />
      ))}
      <Form form={form} layout="vertical" onFinish={submit} initialValues={{ events: ['*'] }} data-testid="webhook-form">
        <Form.Item name="url" label={t('url')} extra={t('urlHelp')} rules={[{ required: true, message: t('urlRequired') }]}>
          <Input placeholder="https://example.com/hooks/clientele" inputMode="url" autoComplete="off" data-testid="webhook-url" />
        </Form.Item>
        <Form.Item name="events" label={t('events')} extra={t('eventsHelp')} rules={[{ required: true, type: 'array', min: 1, message: t('eventsRequired') }]}>
          <Select mode="multiple" options={options} aria-label={t('events')} data-testid="webhook-events" />
        </Form.Item>
        <Form.Item name="description" label={t('description')}>
          <Input maxLength={200} />
        </Form.Item>
      </Form>
    </Modal>
  );
}
