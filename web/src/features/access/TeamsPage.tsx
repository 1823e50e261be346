// Teams: a name and members; anyone may look, roles.manage may change them.
import { useState } from 'react';
import { Alert, App, Avatar, Button, Card, Form, Input, Modal, Popconfirm, Select, Space, Table, Tooltip } from 'antd';
import { PlusOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { del, errorMessage, formErrors, get, post, put, tpath } from '../../app/api';
import { P, useCan } from '../../app/access';
import { useTenant } from '../../app/session';
import { EmptyState, ErrorState } from '../../app/states';
import { PageHeader } from './shared';

interface Team {
  id: string;
  name: string;
  members: string[];
}
interface Member {
  identity_id: string;
  email: string;
  name: string;
}

export default function TeamsPage() {
  const { t } = useTranslation('access');
  const tenant = useTenant();
  const qc = useQueryClient();
  const { message } = App.useApp();
  const manage = useCan(P.rolesManage);
  const teamsKey = ['tenant', tenant.slug, 'teams'];
  const teams = useQuery<Team[], Error>({ queryKey: teamsKey, queryFn: async () => (await get<{ items: Team[] }>(tpath(tenant.slug, '/teams'))).items });
  const members = useQuery<Member[], Error>({
    queryKey: ['tenant', tenant.slug, 'members'],
    queryFn: async () => (await get<{ items: Member[] }>(tpath(tenant.slug, '/members'))).items,
  });
  const [editing, setEditing] = useState<Team | 'new' | null>(null);
  const who = new Map((members.data ?? []).map((m) => [m.identity_id, m]));
  const remove = useMutation({
    mutationFn: (id: string) => del(tpath(tenant.slug, `/teams/${id}`)),
    onSuccess: () => {
      message.success(t('teams.deleted'));
      void qc.invalidateQueries({ queryKey: teamsKey });
    },
    onError: (e) => message.error(errorMessage(e)),
  });
  if (teams.error) return <ErrorState error={teams.error} onRetry={() => teams.refetch()} />;
  return (
    <div data-testid="teams-page">
      <PageHeader
        title={t('teams.title')}
        subtitle={t('teams.subtitle')}
        extra={
          manage && (
            <Button type="primary" icon={<PlusOutlined />} onClick={() => setEditing('new')}>
              {t('teams.create')}
            </Button>
          )
        }
      />
      <Card>
        <Table<Team>
          rowKey="id"
          loading={teams.isPending}
          dataSource={teams.data}
          pagination={false}
          locale={{ emptyText: <EmptyState text={t('teams.empty')} /> }}
          columns={[
            { title: t('teams.name'), dataIndex: 'name' },
            {
              title: t('teams.members'),
              key: 'm',
              render: (_, tm) => (
                <Avatar.Group max={{ count: 8 }}>
                  {tm.members.map((id) => {
                    const m = who.get(id);
                    const label = m ? m.name || m.email : id.slice(0, 8);
                    return (
                      <Tooltip key={id} title={label}>
                        <Avatar style={{ background: 'var(--c-brand-soft)', color: 'var(--c-brand-on-soft)' }}>{label.slice(0, 1).toUpperCase()}</Avatar>
                      </Tooltip>
                    );
                  })}
                </Avatar.Group>
              ),
            },
            ...(manage
              ? [
                  {
                    title: '',
                    key: 'a',
                    width: 160,
                    render: (_: unknown, tm: Team) => (
                      <Space>
                        <Button type="link" onClick={() => setEditing(tm)}>
                          {t('common:action.edit')}
                        </Button>
                        <Popconfirm title={t('teams.deleteConfirm', { name: tm.name })} onConfirm={() => remove.mutate(tm.id)} okButtonProps={{ danger: true }}>
                          <Button type="link" danger>
                            {t('common:action.delete')}
                          </Button>
                        </Popconfirm>
                      </Space>
                    ),
                  },
                ]
              : []),
          ]}
        />
      </Card>
      {editing && (
        <TeamEditor
          team={editing === 'new' ? undefined : editing}
          members={members.data ?? []}
          onClose={() => setEditing(null)}
          onSaved={() => {
            setEditing(null);
            message.success(t('teams.saved'));
            void qc.invalidateQueries({ queryKey: teamsKey });
          }}
        />
      )}
    </div>
  );
}

function TeamEditor({ team, members, onClose, onSaved }: { team?: Team; members: Member[]; onClose: () => void; onSaved: () => void }) {
  const { t } = useTranslation('access');
  const tenant = useTenant();
  const [form] = Form.useForm();
  const [busy, setBusy] = useState(false);
  const [rest, setRest] = useState<string[]>([]);
  async function submit(v: { name: string; members: string[] }) {
    setBusy(true);
    setRest([]);
    try {
      if (team) await put(tpath(tenant.slug, `/teams/${team.id}`), v);
      else await post(tpath(tenant.slug, '/teams'), v);
      onSaved();
    } catch (e) {
      const { fields, rest } = formErrors(e);
      form.setFields(fields.map((f) => (f.name[0] === 'members' ? { ...f, name: ['members'] } : f)));
      setRest(rest);
    } finally {
      setBusy(false);
    }
  }
  return (
    <Modal open title={team ? t('teams.edit') : t('teams.create')} onCancel={onClose} onOk={() => form.submit()} confirmLoading={busy} destroyOnHidden>
      {rest.map((r) => (
        <Alert key={r} type="error" showIcon message={r} style={{ marginBottom: 12 }} />
      ))}
      <Form form={form} layout="vertical" onFinish={submit} initialValues={{ name: team?.name, members: team?.members ?? [] }}>
        <Form.Item name="name" label={t('teams.name')} rules={[{ required: true }]}>
          <Input />
        </Form.Item>
        <Form.Item name="members" label={t('teams.members')}>
          <Select mode="multiple" optionFilterProp="label" options={members.map((m) => ({ value: m.identity_id, label: m.name ? `${m.name} <${m.email}>` : m.email }))} />
        </Form.Item>
      </Form>
    </Modal>
  );
}
