// Dashboards: the list of those the member can see (theirs, shared with their
// role, the company's own), and one dashboard opened (DashboardView).
import './locales';
import { useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { App, Button, Card, Form, Input, List, Modal, Popconfirm, Space, Tag } from 'antd';
import { ArrowLeftOutlined, DeleteOutlined, PlusOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate, useParams } from 'react-router-dom';
import { del, errorMessage, formErrors, get, post, tpath } from '../../app/api';
import { useTenant } from '../../app/session';
import { EmptyState, ErrorState, Loading } from '../../app/states';
import { PageHeader } from '../access/shared';
import DashboardView from './DashboardView';
import { nameOf, type Dashboard } from './dashboards';

export function useDashboards() {
  const tenant = useTenant();
  return useQuery({
    queryKey: ['tenant', tenant.slug, 'bi', 'dashboards'],
    queryFn: () => get<{ items: Dashboard[] }>(tpath(tenant.slug, '/bi/dashboards'), { limit: 200 }),
  });
}

export default function DashboardsPage() {
  const { id } = useParams();
  return id ? <OneDashboard id={id} /> : <AllDashboards />;
}

function kindOf(d: Dashboard) {
  return d.provisioned ? 'provisioned' : d.shared_roles.length ? 'shared' : 'private';
}

function AllDashboards() {
  const { t, i18n } = useTranslation('bi');
  const tenant = useTenant();
  const nav = useNavigate();
  const qc = useQueryClient();
  const { message } = App.useApp();
  const list = useDashboards();
  const [creating, setCreating] = useState(false);
  const [form] = Form.useForm<{ name: string; name_zh?: string }>();
  const create = useMutation({
    mutationFn: (v: { name: string; name_zh?: string }) => post<Dashboard>(tpath(tenant.slug, '/bi/dashboards'), v),
    onSuccess: (d) => {
      message.success(t('dashboard_created'));
      void qc.invalidateQueries({ queryKey: ['tenant', tenant.slug, 'bi', 'dashboards'] });
      setCreating(false);
      nav(`/t/${tenant.slug}/dashboards/${d.id}`);
    },
    onError: (err) => {
      const { fields, rest } = formErrors(err);
      form.setFields(fields.map((x) => ({ name: x.name[0] as 'name', errors: x.errors })));
      if (rest.length || !fields.length) message.error(rest.join(' ') || errorMessage(err));
    },
  });
  if (list.error) return <ErrorState error={list.error} onRetry={() => list.refetch()} />;
  if (list.isPending) return <Loading />;
  const items = list.data.items;
  return (
    <div>
      <PageHeader title={t('dashboards_title')} subtitle={t('dashboards_subtitle')}
        extra={<Button type="primary" icon={<PlusOutlined />} onClick={() => setCreating(true)} data-testid="bi-new-dashboard">{t('dashboard_new')}</Button>} />
      {items.length === 0 ? <EmptyState text={t('dashboards_empty')} /> : (
        <Card>
          <List<Dashboard> dataSource={items} data-testid="bi-dashboards"
            renderItem={(d) => (
              <List.Item>
                <Space>
                  <Link to={`/t/${tenant.slug}/dashboards/${d.id}`}>{nameOf(d, i18n.language)}</Link>
                  <Tag color={kindOf(d) === 'provisioned' ? 'blue' : kindOf(d) === 'shared' ? 'green' : undefined}>{t(kindOf(d))}</Tag>
                </Space>
              </List.Item>
            )} />
        </Card>
      )}
      <Modal open={creating} title={t('dashboard_new')} onCancel={() => setCreating(false)} onOk={() => form.submit()} confirmLoading={create.isPending} destroyOnHidden>
        <Form form={form} layout="vertical" onFinish={(v) => create.mutate({ name: v.name, name_zh: v.name_zh || undefined })}>
          <Form.Item name="name" label={t('dashboard_name')} rules={[{ required: true }]}><Input maxLength={200} /></Form.Item>
          <Form.Item name="name_zh" label={t('dashboard_name_zh')}><Input maxLength={200} /></Form.Item>
        </Form>
      </Modal>
    </div>
  );
}

function OneDashboard({ id }: { id: string }) {
  const { t, i18n } = useTranslation('bi');
  const tenant = useTenant();
  const nav = useNavigate();
  const qc = useQueryClient();
  const { message } = App.useApp();
  const d = useQuery({ queryKey: ['tenant', tenant.slug, 'bi', 'dashboard', id], queryFn: () => get<Dashboard>(tpath(tenant.slug, `/bi/dashboards/${id}`)) });
  const remove = useMutation({
    mutationFn: () => del(tpath(tenant.slug, `/bi/dashboards/${id}`)),
    onSuccess: () => {
      message.success(t('dashboard_deleted'));
      void qc.invalidateQueries({ queryKey: ['tenant', tenant.slug, 'bi', 'dashboards'] });
      nav(`/t/${tenant.slug}/dashboards`);
    },
    onError: (err) => message.error(errorMessage(err)),
  });
  if (d.error) return <ErrorState error={d.error} onRetry={() => d.refetch()} />;
  if (!d.data) return <Loading />;
  return (
    <div>
      <PageHeader title={nameOf(d.data, i18n.language)}
        extra={
          <Space wrap>
            <Link to={`/t/${tenant.slug}/dashboards`}><ArrowLeftOutlined /> {t('back_to_dashboards')}</Link>
            {!d.data.provisioned && (
              <Popconfirm title={t('dashboard_delete_confirm')} onConfirm={() => remove.mutate()}>
                <Button danger icon={<DeleteOutlined />}>{t('dashboard_delete')}</Button>
              </Popconfirm>
            )}
          </Space>
        } />
      <DashboardView id={id} />
    </div>
  );
}
