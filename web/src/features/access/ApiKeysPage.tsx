// API keys: create (the secret is shown once, with a copy button), list, revoke.
import { useState } from 'react';
import { Alert, App, Button, Card, Form, Input, Modal, Popconfirm, Select, Space, Table, Tag, Typography } from 'antd';
import { CopyOutlined, KeyOutlined, PlusOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { del, errorMessage, formErrors, get, post, tpath } from '../../app/api';
import { useTenant } from '../../app/session';
import { useFormat } from '../../app/useFormat';
import { EmptyState, ErrorState } from '../../app/states';
import { PageHeader, useRoleLabel, useRoles } from './shared';

interface APIKey {
  id: string;
  name: string;
  role: string;
  prefix: string;
  created_at: string;
  last_used_at?: string;
  revoked_at?: string;
}

export default function ApiKeysPage() {
  const { t } = useTranslation('access');
  const tenant = useTenant();
  const f = useFormat();
  const qc = useQueryClient();
  const { message } = App.useApp();
  const roleLabel = useRoleLabel();
  const keysKey = ['tenant', tenant.slug, 'api-keys'];
  const keys = useQuery<APIKey[], Error>({ queryKey: keysKey, queryFn: async () => (await get<{ items: APIKey[] }>(tpath(tenant.slug, '/api-keys'))).items });
  const [creating, setCreating] = useState(false);
  const [secret, setSecret] = useState<{ name: string; key: string } | null>(null);
  const revoke = useMutation({
    mutationFn: (id: string) => del(tpath(tenant.slug, `/api-keys/${id}`)),
    onSuccess: () => void qc.invalidateQueries({ queryKey: keysKey }),
    onError: (e) => message.error(errorMessage(e)),
  });
  if (keys.error) return <ErrorState error={keys.error} onRetry={() => keys.refetch()} />;
  return (
    <div data-testid="api-keys-page">
      <PageHeader
        title={t('keys.title')}
        subtitle={t('keys.subtitle')}
        extra={
          <Button type="primary" icon={<PlusOutlined />} onClick={() => setCreating(true)} data-testid="key-create">
            {t('keys.create')}
          </Button>
        }
      />
      <Card>
        <Table<APIKey>
          rowKey="id"
          loading={keys.isPending}
          dataSource={keys.data}
          pagination={false}
          locale={{ emptyText: <EmptyState text={t('keys.empty')} /> }}
          columns={[
            { title: t('keys.name'), dataIndex: 'name', render: (n: string) => <Typography.Text strong>{n}</Typography.Text> },
            { title: t('keys.prefix'), dataIndex: 'prefix', render: (p: string) => <Typography.Text code>{p}…</Typography.Text> },
            { title: t('keys.role'), dataIndex: 'role', render: (r: string) => <Tag color="blue">{roleLabel(r)}</Tag> },
            { title: t('keys.created'), dataIndex: 'created_at', render: (v: string) => f.date(v) },
            { title: t('keys.lastUsed'), dataIndex: 'last_used_at', render: (v?: string) => (v ? f.relative(v) : <Typography.Text type="secondary">{t('keys.never')}</Typography.Text>) },
            { title: t('keys.status'), key: 's', render: (_, k) => (k.revoked_at ? <Tag>{t('keys.revoked')}</Tag> : <Tag color="green">{t('keys.active')}</Tag>) },
            {
              title: '',
              key: 'a',
              width: 100,
              render: (_, k) =>
                !k.revoked_at && (
                  <Popconfirm title={t('keys.revokeConfirm', { name: k.name })} onConfirm={() => revoke.mutate(k.id)} okButtonProps={{ danger: true }}>
                    <Button type="link" danger>
                      {t('keys.revoke')}
                    </Button>
                  </Popconfirm>
                ),
            },
          ]}
        />
      </Card>
      {creating && (
        <CreateKey
          onClose={() => setCreating(false)}
          onCreated={(name, key) => {
            setCreating(false);
            setSecret({ name, key });
            void qc.invalidateQueries({ queryKey: keysKey });
          }}
        />
      )}
      <Modal
        open={!!secret}
        title={
          <Space>
            <KeyOutlined />
            {t('keys.newKey')}
          </Space>
        }
        onCancel={() => setSecret(null)}
        footer={<Button type="primary" onClick={() => setSecret(null)}>{t('common:action.done')}</Button>}
        destroyOnHidden
      >
        {secret && (
          <>
            <Alert type="warning" showIcon message={t('keys.shownOnce')} style={{ marginBottom: 16 }} />
            <Typography.Paragraph strong>{secret.name}</Typography.Paragraph>
            <Space.Compact style={{ width: '100%' }}>
              <Input readOnly value={secret.key} aria-label={t('keys.newKey')} data-testid="key-secret" onFocus={(e) => e.target.select()} style={{ fontFamily: 'monospace' }} />
              <Button
                icon={<CopyOutlined />}
                onClick={async () => {
                  try {
                    await navigator.clipboard.writeText(secret.key);
                    message.success(t('common:action.copied'));
                  } catch {
                    message.info(t('keys.shownOnce'));
                  }
                }}
              >
                {t('keys.copy')}
              </Button>
            </Space.Compact>
          </>
        )}
      </Modal>
    </div>
  );
}

function CreateKey({ onClose, onCreated }: { onClose: () => void; onCreated: (name: string, key: string) => void }) {
  const { t } = useTranslation('access');
  const tenant = useTenant();
  const roles = useRoles();
  const roleLabel = useRoleLabel();
  const [form] = Form.useForm();
  const [busy, setBusy] = useState(false);
  const [rest, setRest] = useState<string[]>([]);
  async function submit(v: { name: string; role: string }) {
    setBusy(true);
    setRest([]);
    try {
      const r = await post<{ key: string; name: string }>(tpath(tenant.slug, '/api-keys'), v);
      onCreated(r.name, r.key);
    } catch (e) {
      const { fields, rest } = formErrors(e);
      form.setFields(fields);
      setRest(rest);
    } finally {
      setBusy(false);
    }
  }
  return (
    <Modal open title={t('keys.create')} onCancel={onClose} onOk={() => form.submit()} confirmLoading={busy} destroyOnHidden>
      {rest.map((r) => (
        <Alert key={r} type="error" showIcon message={r} style={{ marginBottom: 12 }} />
      ))}
      <Form form={form} layout="vertical" onFinish={submit} initialValues={{ role: 'agent' }}>
        <Form.Item name="name" label={t('keys.name')} rules={[{ required: true }]}>
          <Input placeholder={t('keys.namePlaceholder')} />
        </Form.Item>
        <Form.Item name="role" label={t('keys.role')} rules={[{ required: true }]}>
          <Select options={(roles.data ?? []).filter((r) => r.key !== 'owner').map((r) => ({ value: r.key, label: roleLabel(r.key) }))} />
        </Form.Item>
      </Form>
    </Modal>
  );
}
