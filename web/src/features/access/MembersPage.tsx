// Members: list, invite by email and role, change role, remove; pending
// invitations with revoke. Actions appear only for members.manage.
import { useState } from 'react';
import { App, Avatar, Button, Card, Form, Input, Modal, Popconfirm, Select, Space, Table, Tag, Typography } from 'antd';
import { UserAddOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { del, errorMessage, formErrors, get, patch, post, tpath } from '../../app/api';
import { P, useCan } from '../../app/access';
import { useMe, useTenant } from '../../app/session';
import { useFormat } from '../../app/useFormat';
import { ErrorState, EmptyState } from '../../app/states';
import { PageHeader, useRoleLabel, useRoles } from './shared';

interface Member {
  identity_id: string;
  email: string;
  name: string;
  role: string;
  created_at: string;
}
interface Invitation {
  id: string;
  email: string;
  role: string;
  status: string;
  expires_at: string;
  created_at: string;
}

export default function MembersPage() {
  const { t } = useTranslation('access');
  const tenant = useTenant();
  const me = useMe().data!;
  const f = useFormat();
  const qc = useQueryClient();
  const { message } = App.useApp();
  const manage = useCan(P.membersManage);
  const roles = useRoles();
  const roleLabel = useRoleLabel();
  const [inviting, setInviting] = useState(false);
  const membersKey = ['tenant', tenant.slug, 'members'];
  const invitesKey = ['tenant', tenant.slug, 'invitations'];
  const members = useQuery<Member[], Error>({ queryKey: membersKey, queryFn: async () => (await get<{ items: Member[] }>(tpath(tenant.slug, '/members'))).items });
  const invites = useQuery<Invitation[], Error>({
    queryKey: invitesKey,
    queryFn: async () => (await get<{ items: Invitation[] }>(tpath(tenant.slug, '/invitations'))).items,
    enabled: manage,
  });
  const roleOptions = (roles.data ?? []).map((r) => ({ value: r.key, label: roleLabel(r.key) }));

  const changeRole = useMutation({
    mutationFn: ({ id, role }: { id: string; role: string }) => patch(tpath(tenant.slug, `/members/${id}`), { role }),
    onSuccess: () => {
      message.success(t('members.roleChanged'));
      void qc.invalidateQueries({ queryKey: membersKey });
      void qc.invalidateQueries({ queryKey: ['tenant', tenant.slug, 'access'] });
    },
    onError: (e) => message.error(errorMessage(e)),
  });
  const remove = useMutation({
    mutationFn: (id: string) => del(tpath(tenant.slug, `/members/${id}`)),
    onSuccess: () => {
      message.success(t('members.removed'));
      void qc.invalidateQueries({ queryKey: membersKey });
    },
    onError: (e) => message.error(errorMessage(e)),
  });
  const revoke = useMutation({
    mutationFn: (id: string) => del(tpath(tenant.slug, `/invitations/${id}`)),
    onSuccess: () => void qc.invalidateQueries({ queryKey: invitesKey }),
    onError: (e) => message.error(errorMessage(e)),
  });

  const pending = (invites.data ?? []).filter((i) => i.status === 'pending');
  return (
    <div data-testid="members-page">
      <PageHeader
        title={t('members.title')}
        subtitle={t('members.subtitle')}
        extra={
          manage && (
            <Button type="primary" icon={<UserAddOutlined />} onClick={() => setInviting(true)} data-testid="invite-open">
              {t('members.invite')}
            </Button>
          )
        }
      />
      <Card>
        {members.error ? (
          <ErrorState error={members.error} onRetry={() => members.refetch()} />
        ) : (
          <Table<Member>
            rowKey="identity_id"
            loading={members.isPending}
            dataSource={members.data}
            pagination={false}
            locale={{ emptyText: <EmptyState /> }}
            columns={[
              {
                title: t('members.name'),
                key: 'name',
                render: (_, m) => (
                  <Space>
                    <Avatar style={{ background: 'var(--c-brand-soft)', color: 'var(--c-brand-on-soft)' }}>{(m.name || m.email).slice(0, 1).toUpperCase()}</Avatar>
                    <span>
                      <Typography.Text strong>{m.name || m.email.split('@')[0]}</Typography.Text>
                      {m.identity_id === me.identity.id && <Tag style={{ marginInlineStart: 8 }}>{t('members.you')}</Tag>}
                      <br />
                      <Typography.Text type="secondary">{m.email}</Typography.Text>
                    </span>
                  </Space>
                ),
              },
              {
                title: t('members.role'),
                dataIndex: 'role',
                width: 220,
                render: (role: string, m) =>
                  // Nobody changes their own role; the server refuses it too.
                  manage && m.identity_id !== me.identity.id ? (
                    <Select
                      aria-label={`${t('members.role')}: ${m.email}`}
                      value={role}
                      style={{ width: 180 }}
                      options={roleOptions.length ? roleOptions : [{ value: role, label: roleLabel(role) }]}
                      onChange={(v) => changeRole.mutate({ id: m.identity_id, role: v })}
                    />
                  ) : (
                    <Tag color="blue">{roleLabel(role)}</Tag>
                  ),
              },
              { title: t('members.joined'), dataIndex: 'created_at', width: 200, render: (v: string) => f.date(v) },
              ...(manage
                ? [
                    {
                      title: '',
                      key: 'actions',
                      width: 100,
                      render: (_: unknown, m: Member) => (
                        <Popconfirm title={t('members.removeConfirm', { name: m.name || m.email })} onConfirm={() => remove.mutate(m.identity_id)} okButtonProps={{ danger: true }}>
                          <Button type="link" danger>
                            {t('members.remove')}
                          </Button>
                        </Popconfirm>
                      ),
                    },
                  ]
                : []),
            ]}
          />
        )}
      </Card>
      {manage && (
        <Card title={t('members.pending')} style={{ marginTop: 16 }} data-testid="pending-invitations">
          {invites.error ? (
            <ErrorState error={invites.error} onRetry={() => invites.refetch()} />
          ) : (
            <Table<Invitation>
              rowKey="id"
              loading={invites.isPending}
              dataSource={pending}
              pagination={false}
              locale={{ emptyText: <EmptyState text={t('members.noInvitations')} /> }}
              columns={[
                { title: t('members.email'), dataIndex: 'email' },
                { title: t('members.role'), dataIndex: 'role', render: (r: string) => <Tag color="blue">{roleLabel(r)}</Tag> },
                { title: t('members.status'), dataIndex: 'status', render: (s: string) => <Tag color="gold">{t(`members.statuses.${s}`, { defaultValue: s })}</Tag> },
                { title: t('members.expires'), dataIndex: 'expires_at', render: (v: string) => f.dateTime(v) },
                {
                  title: '',
                  key: 'a',
                  width: 100,
                  render: (_, i) => (
                    <Popconfirm title={t('members.revokeConfirm', { email: i.email })} onConfirm={() => revoke.mutate(i.id)}>
                      <Button type="link" danger>
                        {t('members.revoke')}
                      </Button>
                    </Popconfirm>
                  ),
                },
              ]}
            />
          )}
        </Card>
      )}
      <InviteModal
        open={inviting}
        roleOptions={roleOptions}
        onClose={() => setInviting(false)}
        onInvited={(email) => {
          setInviting(false);
          message.success(t('members.invited', { email }));
          void qc.invalidateQueries({ queryKey: invitesKey });
        }}
      />
    </div>
  );
}

function InviteModal({ open, roleOptions, onClose, onInvited }: { open: boolean; roleOptions: { value: string; label: string }[]; onClose: () => void; onInvited: (email: string) => void }) {
  const { t } = useTranslation('access');
  const tenant = useTenant();
  const [form] = Form.useForm();
  const [busy, setBusy] = useState(false);
  const [rest, setRest] = useState<string[]>([]);
  async function submit(v: { email: string; role: string; name?: string }) {
    setBusy(true);
    setRest([]);
    try {
      await post(tpath(tenant.slug, '/invitations'), { email: v.email.trim(), role: v.role, name: v.name?.trim() || undefined });
      form.resetFields();
      onInvited(v.email.trim());
    } catch (e) {
      const { fields, rest } = formErrors(e);
      form.setFields(fields);
      setRest(rest);
    } finally {
      setBusy(false);
    }
  }
  return (
    <Modal
      open={open}
      title={t('members.inviteTitle')}
      onCancel={onClose}
      okText={t('members.sendInvite')}
      onOk={() => form.submit()}
      confirmLoading={busy}
      okButtonProps={{ 'data-testid': 'invite-send' } as Record<string, string>}
      destroyOnHidden
    >
      <Typography.Paragraph type="secondary">{t('members.inviteHelp')}</Typography.Paragraph>
      {rest.map((r) => (
        <Typography.Paragraph key={r} type="danger" role="alert">
          {r}
        </Typography.Paragraph>
      ))}
      <Form form={form} layout="vertical" onFinish={submit} initialValues={{ role: 'agent' }} data-testid="invite-form" preserve={false}>
        <Form.Item name="email" label={t('members.email')} rules={[{ required: true, message: t('members.emailRequired') }, { type: 'email', message: t('members.emailInvalid') }]}>
          <Input type="email" autoComplete="off" autoFocus />
        </Form.Item>
        <Form.Item name="role" label={t('members.role')} rules={[{ required: true }]}>
          <Select options={roleOptions.filter((r) => r.value !== 'owner')} />
        </Form.Item>
        <Form.Item name="name" label={t('members.nameOptional')}>
          <Input autoComplete="off" />
        </Form.Item>
      </Form>
    </Modal>
  );
}
