// Roles: built-ins are read-only; custom roles get permission checkboxes from
// GET /permissions, grouped by module, and a record scope.
import { useMemo, useState } from 'react';
import { Alert, App, Button, Card, Checkbox, Col, Form, Input, Modal, Popconfirm, Radio, Row, Space, Table, Tag, Typography } from 'antd';
import { PlusOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { del, errorMessage, formErrors, get, post, put, tpath } from '../../app/api';
import { useTenant } from '../../app/session';
import { ErrorState } from '../../app/states';
import { PageHeader, useRoleLabel, useRoles, type Role } from './shared';

interface Permission {
  key: string;
  label: string;
  label_zh: string;
}

/** groupPermissions groups permission keys by their namespace ("customers.read" → "customers"). */
export function groupPermissions(perms: Permission[]): { group: string; items: Permission[] }[] {
  const out: { group: string; items: Permission[] }[] = [];
  for (const p of perms) {
    const g = p.key.split('.')[0];
    let e = out.find((x) => x.group === g);
    if (!e) out.push((e = { group: g, items: [] }));
    e.items.push(p);
  }
  return out;
}

export default function RolesPage() {
  const { t, i18n } = useTranslation('access');
  const tenant = useTenant();
  const qc = useQueryClient();
  const { message } = App.useApp();
  const roles = useRoles();
  const roleLabel = useRoleLabel();
  const perms = useQuery<Permission[], Error>({
    queryKey: ['tenant', tenant.slug, 'permissions'],
    queryFn: async () => (await get<{ items: Permission[] }>(tpath(tenant.slug, '/permissions'))).items,
  });
  const [editing, setEditing] = useState<Role | 'new' | null>(null);
  const permLabel = (p: Permission) => (i18n.language === 'zh' ? p.label_zh || p.label : p.label);
  const remove = useMutation({
    mutationFn: (key: string) => del(tpath(tenant.slug, `/roles/${key}`)),
    onSuccess: () => {
      message.success(t('roles.deleted'));
      void qc.invalidateQueries({ queryKey: ['tenant', tenant.slug, 'roles'] });
    },
    onError: (e) => message.error(errorMessage(e)),
  });
  if (roles.error || perms.error) return <ErrorState error={roles.error ?? perms.error} onRetry={() => (roles.refetch(), perms.refetch())} />;
  const byKey = new Map((perms.data ?? []).map((p) => [p.key, p]));
  return (
    <div data-testid="roles-page">
      <PageHeader
        title={t('roles.title')}
        subtitle={t('roles.subtitle')}
        extra={
          <Button type="primary" icon={<PlusOutlined />} onClick={() => setEditing('new')}>
            {t('roles.create')}
          </Button>
        }
      />
      <Card>
        <Table<Role>
          rowKey="key"
          loading={roles.isPending || perms.isPending}
          dataSource={roles.data}
          pagination={false}
          expandable={{
            expandedRowRender: (r) => (
              <Space size={[4, 8]} wrap>
                {r.permissions.map((k) => (
                  <Tag key={k}>{byKey.get(k) ? permLabel(byKey.get(k)!) : k}</Tag>
                ))}
              </Space>
            ),
          }}
          columns={[
            { title: t('roles.name'), key: 'name', render: (_, r) => <Typography.Text strong>{roleLabel(r.key)}</Typography.Text> },
            { title: t('roles.key'), dataIndex: 'key', render: (k: string) => <Typography.Text code>{k}</Typography.Text> },
            { title: '', key: 'kind', render: (_, r) => (r.built_in ? <Tag>{t('roles.builtIn')}</Tag> : <Tag color="purple">{t('roles.custom')}</Tag>) },
            { title: t('roles.scope'), dataIndex: 'scope', render: (s: string) => t(`roles.scopes.${s}`, { defaultValue: s }) },
            { title: t('roles.permissions'), key: 'n', render: (_, r) => t('roles.count', { count: r.permissions.length }) },
            {
              title: '',
              key: 'a',
              width: 160,
              render: (_, r) =>
                !r.built_in && (
                  <Space>
                    <Button type="link" onClick={() => setEditing(r)}>
                      {t('common:action.edit')}
                    </Button>
                    <Popconfirm title={t('roles.deleteConfirm', { name: r.name })} onConfirm={() => remove.mutate(r.key)} okButtonProps={{ danger: true }}>
                      <Button type="link" danger>
                        {t('common:action.delete')}
                      </Button>
                    </Popconfirm>
                  </Space>
                ),
            },
          ]}
        />
      </Card>
      {editing && (
        <RoleEditor
          role={editing === 'new' ? undefined : editing}
          perms={perms.data ?? []}
          permLabel={permLabel}
          onClose={() => setEditing(null)}
          onSaved={() => {
            setEditing(null);
            message.success(t('roles.saved'));
            void qc.invalidateQueries({ queryKey: ['tenant', tenant.slug, 'roles'] });
            void qc.invalidateQueries({ queryKey: ['tenant', tenant.slug, 'access'] });
          }}
        />
      )}
    </div>
  );
}

function RoleEditor({ role, perms, permLabel, onClose, onSaved }: { role?: Role; perms: Permission[]; permLabel: (p: Permission) => string; onClose: () => void; onSaved: () => void }) {
  const { t } = useTranslation('access');
  const tenant = useTenant();
  const [form] = Form.useForm();
  const [busy, setBusy] = useState(false);
  const [rest, setRest] = useState<string[]>([]);
  const groups = useMemo(() => groupPermissions(perms), [perms]);
  async function submit(v: { key: string; name: string; scope: string; permissions: string[] }) {
    setBusy(true);
    setRest([]);
    try {
      const body = { name: v.name, scope: v.scope, permissions: v.permissions ?? [] };
      if (role) await put(tpath(tenant.slug, `/roles/${role.key}`), body);
      else await post(tpath(tenant.slug, '/roles'), { ...body, key: v.key });
      onSaved();
    } catch (e) {
      const { fields, rest } = formErrors(e);
      // "permissions[3]" errors belong to the checkbox group as a whole.
      form.setFields(fields.map((f) => (f.name[0] === 'permissions' ? { ...f, name: ['permissions'] } : f)));
      setRest(rest);
    } finally {
      setBusy(false);
    }
  }
  return (
    <Modal open title={role ? t('roles.edit') : t('roles.create')} onCancel={onClose} onOk={() => form.submit()} confirmLoading={busy} width={760} destroyOnHidden>
      {rest.map((r) => (
        <Alert key={r} type="error" showIcon message={r} style={{ marginBottom: 12 }} />
      ))}
      <Form form={form} layout="vertical" onFinish={submit} initialValues={{ key: role?.key, name: role?.name, scope: role?.scope ?? 'own', permissions: role?.permissions ?? [] }}>
        <Row gutter={16}>
          <Col span={12}>
            <Form.Item name="name" label={t('roles.name')} rules={[{ required: true }]}>
              <Input />
            </Form.Item>
          </Col>
          <Col span={12}>
            <Form.Item name="key" label={t('roles.key')} extra={t('roles.keyHelp')} rules={[{ required: true }, { pattern: /^[a-z][a-z0-9_]{1,39}$/ }]}>
              <Input disabled={!!role} />
            </Form.Item>
          </Col>
        </Row>
        <Form.Item name="scope" label={t('roles.scope')}>
          <Radio.Group aria-label={t('roles.scope')} options={(['own', 'team', 'all'] as const).map((s) => ({ value: s, label: t(`roles.scopes.${s}`) }))} />
        </Form.Item>
        <Form.Item name="permissions" label={t('roles.permissions')}>
          <Checkbox.Group style={{ width: '100%' }} aria-label={t('roles.permissions')}>
            <Row gutter={[24, 16]}>
              {groups.map((g) => (
                <Col xs={24} sm={12} key={g.group}>
                  <fieldset style={{ border: '1px solid var(--c-border)', borderRadius: 8, padding: '8px 12px', margin: 0, height: '100%' }}>
                    <legend style={{ fontWeight: 600, fontSize: 14, padding: '0 4px', width: 'auto', margin: 0, border: 0 }}>
                      {t(`roles.groups.${g.group}`, { defaultValue: g.group })}
                    </legend>
                    {g.items.map((p) => (
                      <div key={p.key} style={{ padding: '2px 0' }}>
                        <Checkbox value={p.key}>{permLabel(p)}</Checkbox>
                      </div>
                    ))}
                  </fieldset>
                </Col>
              ))}
            </Row>
          </Checkbox.Group>
        </Form.Item>
      </Form>
    </Modal>
  );
}
