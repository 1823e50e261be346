// The service desk's settings: the hosted form (on or off, its texts and the
// snippet that embeds it), the SLA policies (conditions and targets) and the
// business-hour calendars SLA targets count.
import './locales';
import { useEffect, useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, App, Button, Card, Form, Input, InputNumber, Modal, Select, Space, Switch, Table, Tag, Typography } from 'antd';
import { DeleteOutlined, MinusCircleOutlined, PlusOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { del, formErrors, get, post, put, tpath } from '../../app/api';
import { useTenant } from '../../app/session';
import { ErrorState } from '../../app/states';
import { PageHeader } from '../access/shared';
import { CHANNELS, type Calendar, type CalendarHours, type FormSettings, PRIORITIES, type Policy, TYPES, WEEKDAYS, minutesText, parseHolidays, showHolidays } from './api';

export default function ServiceDeskPage() {
  const { t } = useTranslation('tickets');
  return (
    <div>
      <PageHeader title={t('desk_title')} subtitle={t('desk_subtitle')} />
      <Space direction="vertical" size="large" style={{ width: '100%' }}>
        <FormCard />
        <PoliciesCard />
        <CalendarsCard />
      </Space>
    </div>
  );
}

function FormCard() {
  const { t } = useTranslation('tickets');
  const tenant = useTenant();
  const { message } = App.useApp();
  const qc = useQueryClient();
  const key = ['tenant', tenant.slug, 'ticket-form'];
  const settings = useQuery({ queryKey: key, queryFn: () => get<FormSettings>(tpath(tenant.slug, '/ticket-form')) });
  const [form] = Form.useForm<FormSettings>();
  useEffect(() => {
    if (settings.data) form.setFieldsValue(settings.data);
  }, [settings.data, form]);
  const save = useMutation({
    mutationFn: (v: FormSettings) => put<FormSettings>(tpath(tenant.slug, '/ticket-form'), { enabled: v.enabled, title: v.title ?? '', intro: v.intro ?? '' }),
    onSuccess: (v) => {
      qc.setQueryData(key, v);
      void message.success(t('desk_saved'));
    },
  });
  if (settings.error) return <ErrorState error={settings.error} onRetry={() => settings.refetch()} />;
  return (
    <Card title={t('desk_form')} loading={settings.isPending}
      extra={<a href={`/form/${tenant.slug}`} target="_blank" rel="noreferrer">{t('desk_formOpen')}</a>}>
      {save.error && <Alert type="error" showIcon style={{ marginBottom: 12 }} message={formErrors(save.error).rest.join(' ') || formErrors(save.error).fields.flatMap((f) => f.errors).join(' ')} />}
      <Form form={form} layout="vertical" onFinish={(v) => save.mutate(v)}>
        <Form.Item name="enabled" label={t('desk_formOn')} valuePropName="checked"><Switch data-testid="form-enabled" /></Form.Item>
        <Form.Item name="title" label={t('desk_formTitle')}><Input maxLength={200} /></Form.Item>
        <Form.Item name="intro" label={t('desk_formIntro')}><Input.TextArea rows={2} maxLength={2000} /></Form.Item>
        <Button type="primary" htmlType="submit" loading={save.isPending} data-testid="form-save">{t('save')}</Button>
      </Form>
      {settings.data?.snippet && (
        <div style={{ marginTop: 16 }}>
          <Typography.Text strong>{t('desk_snippet')}</Typography.Text>
          <Typography.Paragraph copyable code data-testid="form-snippet">{settings.data.snippet}</Typography.Paragraph>
        </div>
      )}
    </Card>
  );
}

interface CalendarValues {
  name: string;
  time_zone: string;
  default: boolean;
  hours: CalendarHours[];
  holidays: string;
}

function CalendarsCard() {
  const { t } = useTranslation('tickets');
  const tenant = useTenant();
  const qc = useQueryClient();
  const key = ['tenant', tenant.slug, 'sla-calendars'];
  const list = useQuery({ queryKey: key, queryFn: () => get<{ items: Calendar[] }>(tpath(tenant.slug, '/sla-calendars')) });
  const [editing, setEditing] = useState<Calendar | 'new' | null>(null);
  const remove = useMutation({
    mutationFn: (id: string) => del(tpath(tenant.slug, `/sla-calendars/${id}`)),
    onSuccess: () => qc.invalidateQueries({ queryKey: key }),
  });
  if (list.error) return <ErrorState error={list.error} onRetry={() => list.refetch()} />;
  return (
    <Card title={t('desk_calendars')} extra={<Button icon={<PlusOutlined />} onClick={() => setEditing('new')} data-testid="calendar-new">{t('desk_newCalendar')}</Button>}>
      <Table<Calendar> rowKey="id" loading={list.isPending} dataSource={list.data?.items ?? []} pagination={false} locale={{ emptyText: t('desk_noCalendars') }}
        columns={[
          { title: t('desk_name'), render: (_, c) => <a onClick={() => setEditing(c)}>{c.name}</a> },
          { title: t('desk_timeZone'), dataIndex: 'time_zone' },
          { title: t('desk_hours'), render: (_, c) => c.hours.map((h, i) => <Tag key={i}>{h.days.map((d) => t('day_' + d)).join(' ')} {h.start}–{h.end}</Tag>) },
          { title: '', width: 120, render: (_, c) => (c.default ? <Tag color="blue">{t('desk_default')}</Tag> : null) },
          { title: '', width: 60, render: (_, c) => <Button type="text" danger icon={<DeleteOutlined />} aria-label={t('desk_delete')} onClick={() => remove.mutate(c.id)} /> },
        ]} />
      {editing && <CalendarModal calendar={editing === 'new' ? undefined : editing} onClose={() => setEditing(null)} />}
    </Card>
  );
}

function CalendarModal({ calendar, onClose }: { calendar?: Calendar; onClose: () => void }) {
  const { t } = useTranslation('tickets');
  const tenant = useTenant();
  const qc = useQueryClient();
  const [form] = Form.useForm<CalendarValues>();
  const [rest, setRest] = useState<string[]>([]);
  const zones = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : ['UTC', 'Asia/Shanghai'];
  const save = useMutation({
    mutationFn: (v: CalendarValues) => {
      const body = { name: v.name, time_zone: v.time_zone, default: !!v.default, team_id: calendar?.team_id, hours: v.hours ?? [], holidays: parseHolidays(v.holidays ?? '') };
      return calendar ? put<Calendar>(tpath(tenant.slug, `/sla-calendars/${calendar.id}`), body) : post<Calendar>(tpath(tenant.slug, '/sla-calendars'), body);
    },
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ['tenant', tenant.slug, 'sla-calendars'] });
      onClose();
    },
    onError: (err) => {
      const { fields, rest } = formErrors(err);
      const known = fields.filter((f) => ['name', 'time_zone', 'default', 'hours', 'holidays'].includes(String(f.name[0])));
      form.setFields(known.map((f) => ({ name: f.name.length > 2 ? f.name : f.name.slice(0, 1), errors: f.errors })) as Parameters<typeof form.setFields>[0]);
      setRest([...rest, ...fields.filter((f) => !known.includes(f)).flatMap((f) => f.errors), ...known.filter((f) => f.name.length === 2).flatMap((f) => f.errors)]);
    },
  });
  const initial: CalendarValues = calendar
    ? { name: calendar.name, time_zone: calendar.time_zone, default: calendar.default, hours: calendar.hours, holidays: showHolidays(calendar.holidays) }
    : { name: '', time_zone: 'Asia/Shanghai', default: true, hours: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '09:00', end: '18:00' }], holidays: '' };
  return (
    <Modal open title={calendar ? t('desk_editCalendar') : t('desk_newCalendar')} onCancel={onClose} onOk={() => form.submit()} okText={t('save')} cancelText={t('cancel')}
      confirmLoading={save.isPending} width={640} destroyOnHidden>
      {rest.length > 0 && <Alert type="error" showIcon style={{ marginBottom: 12 }} message={rest.join(' ')} data-testid="calendar-error" />}
      <Form form={form} layout="vertical" initialValues={initial} onFinish={(v) => save.mutate(v)}>
        <Form.Item name="name" label={t('desk_name')} rules={[{ required: true, max: 100 }]}><Input data-testid="calendar-name" /></Form.Item>
        <Space wrap>
          <Form.Item name="time_zone" label={t('desk_timeZone')}><Select showSearch style={{ width: 240 }} options={zones.map((z) => ({ value: z, label: z }))} data-testid="calendar-zone" /></Form.Item>
          <Form.Item name="default" label={t('desk_default')} valuePropName="checked"><Switch /></Form.Item>
        </Space>
        <Typography.Text strong>{t('desk_hours')}</Typography.Text>
        <Form.List name="hours">
          {(items, { add, remove }) => (
            <>
              {items.map((it) => (
                <Space key={it.key} align="baseline" wrap>
                  <Form.Item name={[it.name, 'days']} label={t('desk_days')}><Select mode="multiple" style={{ minWidth: 220 }} options={WEEKDAYS.map((d) => ({ value: d, label: t('day_' + d) }))} /></Form.Item>
                  <Form.Item name={[it.name, 'start']} label={t('desk_start')}><Input style={{ width: 90 }} /></Form.Item>
                  <Form.Item name={[it.name, 'end']} label={t('desk_end')}><Input style={{ width: 90 }} /></Form.Item>
                  <MinusCircleOutlined onClick={() => remove(it.name)} />
                </Space>
              ))}
              <Button type="dashed" icon={<PlusOutlined />} onClick={() => add({ days: ['mon'], start: '09:00', end: '17:00' })} style={{ marginBottom: 16 }}>{t('desk_addHours')}</Button>
            </>
          )}
        </Form.List>
        <Form.Item name="holidays" label={t('desk_holidays')}><Input.TextArea rows={3} data-testid="calendar-holidays" /></Form.Item>
      </Form>
    </Modal>
  );
}

type PolicyValues = Omit<Policy, 'id'>;

function PoliciesCard() {
  const { t } = useTranslation('tickets');
  const tenant = useTenant();
  const key = ['tenant', tenant.slug, 'sla-policies'];
  const list = useQuery({ queryKey: key, queryFn: () => get<{ items: Policy[] }>(tpath(tenant.slug, '/sla-policies')) });
  const [editing, setEditing] = useState<Policy | 'new' | null>(null);
  if (list.error) return <ErrorState error={list.error} onRetry={() => list.refetch()} />;
  const conditions = (p: Policy) => {
    const tags = [...p.priorities.map((x) => t('priority_' + x)), ...p.types.map((x) => t('type_' + x)), ...p.channels.map((x) => t('channel_' + x)), ...p.tags.map((x) => '#' + x)];
    return tags.length ? tags.map((x) => <Tag key={x} bordered={false}>{x}</Tag>) : <Typography.Text type="secondary">{t('desk_any')}</Typography.Text>;
  };
  return (
    <Card title={t('desk_policies')} extra={<Button icon={<PlusOutlined />} onClick={() => setEditing('new')} data-testid="policy-new">{t('desk_newPolicy')}</Button>}>
      <Typography.Paragraph type="secondary">{t('desk_policiesHint')}</Typography.Paragraph>
      <Table<Policy> rowKey="id" loading={list.isPending} dataSource={list.data?.items ?? []} pagination={false} locale={{ emptyText: t('desk_noPolicies') }} data-testid="policies"
        columns={[
          { title: t('desk_position'), dataIndex: 'position', width: 70 },
          { title: t('desk_name'), render: (_, p) => <a onClick={() => setEditing(p)}>{p.name}</a> },
          { title: t('desk_conditions'), render: (_, p) => conditions(p) },
          {
            title: t('desk_targets'),
            render: (_, p) => (
              <Space direction="vertical" size={0} style={{ fontSize: 12 }}>
                <span>{t('desk_targetFirst')}: {minutesText(p.first_response_minutes)}</span>
                <span>{t('desk_targetNext')}: {minutesText(p.next_response_minutes)}</span>
                <span>{t('desk_targetResolution')}: {minutesText(p.resolution_minutes)}</span>
              </Space>
            ),
          },
          { title: '', width: 90, render: (_, p) => (p.active ? <Tag color="green">{t('desk_active')}</Tag> : <Tag>{t('desk_inactive')}</Tag>) },
        ]} />
      {editing && <PolicyModal policy={editing === 'new' ? undefined : editing} onClose={() => setEditing(null)} />}
    </Card>
  );
}

const policyFields = ['name', 'position', 'active', 'priorities', 'types', 'channels', 'tags', 'first_response_minutes', 'next_response_minutes', 'resolution_minutes', 'warn_percent', 'business_hours'];

function PolicyModal({ policy, onClose }: { policy?: Policy; onClose: () => void }) {
  const { t } = useTranslation('tickets');
  const tenant = useTenant();
  const qc = useQueryClient();
  const [form] = Form.useForm<PolicyValues>();
  const [rest, setRest] = useState<string[]>([]);
  const save = useMutation({
    mutationFn: (v: PolicyValues) => {
      const body = { ...v, active: v.active !== false, position: v.position ?? 0, warn_percent: v.warn_percent || undefined,
        first_response_minutes: v.first_response_minutes || undefined, next_response_minutes: v.next_response_minutes || undefined, resolution_minutes: v.resolution_minutes || undefined };
      return policy ? put<Policy>(tpath(tenant.slug, `/sla-policies/${policy.id}`), body) : post<Policy>(tpath(tenant.slug, '/sla-policies'), body);
    },
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ['tenant', tenant.slug, 'sla-policies'] });
      onClose();
    },
    onError: (err) => {
      const { fields, rest } = formErrors(err);
      const known = fields.filter((f) => policyFields.includes(String(f.name[0])));
      form.setFields(known.map((f) => ({ name: f.name.slice(0, 1), errors: f.errors })) as Parameters<typeof form.setFields>[0]);
      setRest([...rest, ...fields.filter((f) => !known.includes(f)).flatMap((f) => f.errors)]);
    },
  });
  const initial: Partial<PolicyValues> = policy ?? { name: '', position: 0, active: true, priorities: [], types: [], channels: [], tags: [], warn_percent: 80, business_hours: false };
  return (
    <Modal open title={policy ? t('desk_editPolicy') : t('desk_newPolicy')} onCancel={onClose} onOk={() => form.submit()} okText={t('save')} cancelText={t('cancel')}
      confirmLoading={save.isPending} width={640} destroyOnHidden>
      {rest.length > 0 && <Alert type="error" showIcon style={{ marginBottom: 12 }} message={rest.join(' ')} data-testid="policy-error" />}
      <Form form={form} layout="vertical" initialValues={initial} onFinish={(v) => save.mutate(v)}>
        <Space wrap align="start">
          <Form.Item name="name" label={t('desk_name')} rules={[{ required: true, max: 100 }]}><Input style={{ width: 260 }} data-testid="policy-name" /></Form.Item>
          <Form.Item name="position" label={t('desk_position')}><InputNumber min={0} max={10000} /></Form.Item>
          <Form.Item name="active" label={t('desk_active')} valuePropName="checked"><Switch /></Form.Item>
        </Space>
        <Form.Item name="priorities" label={t('desk_priorities')}><Select mode="multiple" allowClear options={PRIORITIES.map((x) => ({ value: x, label: t('priority_' + x) }))} data-testid="policy-priorities" /></Form.Item>
        <Form.Item name="types" label={t('desk_types')}><Select mode="multiple" allowClear options={TYPES.map((x) => ({ value: x, label: t('type_' + x) }))} /></Form.Item>
        <Form.Item name="channels" label={t('desk_channels')}><Select mode="multiple" allowClear options={CHANNELS.map((x) => ({ value: x, label: t('channel_' + x) }))} /></Form.Item>
        <Form.Item name="tags" label={t('desk_tags')}><Select mode="tags" allowClear /></Form.Item>
        <Space wrap align="start">
          <Form.Item name="first_response_minutes" label={t('desk_firstResponse')}><InputNumber min={1} max={525600} data-testid="policy-first" /></Form.Item>
          <Form.Item name="next_response_minutes" label={t('desk_nextResponse')}><InputNumber min={1} max={525600} /></Form.Item>
          <Form.Item name="resolution_minutes" label={t('desk_resolution')}><InputNumber min={1} max={525600} data-testid="policy-resolution" /></Form.Item>
        </Space>
        <Space wrap align="start">
          <Form.Item name="warn_percent" label={t('desk_warnPercent')}><InputNumber min={1} max={99} /></Form.Item>
          <Form.Item name="business_hours" label={t('desk_businessHours')} valuePropName="checked"><Switch /></Form.Item>
        </Space>
      </Form>
    </Modal>
  );
}
