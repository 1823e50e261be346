// One customer: fields rendered by type (sensitive values masked unless the
// viewer may see them), an edit form with per-field errors, the interaction
// timeline with a composer, tasks with due and reminder times, and duplicates
// with a merge.
import { useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { App, Button, Card, Col, DatePicker, Descriptions, Form, Input, InputNumber, List, Row, Select, Space, Tag, Timeline, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { useParams } from 'react-router-dom';
import { errorMessage, formErrors, get, patch, post, tpath } from '../../app/api';
import { useTenant } from '../../app/session';
import { useFormat } from '../../app/useFormat';
import { ErrorState, Loading } from '../../app/states';
import { FieldInput, showValue } from './FieldInput';
import { changedNames, fieldLabel } from './fields';
import { type Customer, useFieldDefs } from './api';
import { LIFECYCLES } from './locales';
import './locales';

const KINDS = ['call', 'email', 'meeting', 'visit', 'note', 'social', 'purchase', 'feedback'];

export default function CustomerPage() {
  const { t, i18n } = useTranslation(['customers', 'common']);
  const { id } = useParams();
  const tenant = useTenant();
  const f = useFormat();
  const qc = useQueryClient();
  const { message } = App.useApp();
  const defs = useFieldDefs(tenant.slug).data ?? [];
  const key = ['tenant', tenant.slug, 'customer', id];
  const c = useQuery({ queryKey: key, queryFn: () => get<Customer>(tpath(tenant.slug, `/customers/${id}`)) });
  const [form] = Form.useForm();
  const save = useMutation({
    mutationFn: (v: Record<string, unknown>) =>
      patch<Customer>(tpath(tenant.slug, `/customers/${id}`), {
        name: v.name,
        lifecycle: v.lifecycle,
        tags: v.tags,
        custom: Object.fromEntries(Object.entries((v.custom as Record<string, unknown>) ?? {}).filter(([k, x]) => x !== '••••••' && x !== undefined && !defs.find((d) => d.key === k && d.sensitive && x === ''))),
      }),
    onSuccess: (nc) => {
      qc.setQueryData(key, nc);
      message.success(t('saved'));
    },
    onError: (e) => form.setFields(formErrors(e).fields.map((x) => ({ name: x.name, errors: x.errors }))),
  });
  if (c.isPending) return <Loading />;
  if (c.error) return <ErrorState error={c.error} onRetry={() => c.refetch()} />;
  const cu = c.data;
  return (
    <div>
      <Space align="baseline" style={{ marginBottom: 16 }}>
        <Typography.Title level={2} style={{ margin: 0 }} data-testid="customer-name">{cu.name}</Typography.Title>
        <Tag color="blue">{t('lifecycle_' + cu.lifecycle)}</Tag>
        {cu.tags.map((x) => <Tag key={x}>{x}</Tag>)}
      </Space>
      <Row gutter={16}>
        <Col xs={24} lg={14}>
          <Card title={t('details')} style={{ marginBottom: 16 }}>
            <Descriptions column={1} size="small" style={{ marginBottom: 16 }}>
              <Descriptions.Item label={t('emails')}>{cu.emails.join(', ')}</Descriptions.Item>
              <Descriptions.Item label={t('phones')}>{cu.phones.join(', ')}</Descriptions.Item>
              <Descriptions.Item label={t('source')}>{cu.source}</Descriptions.Item>
              <Descriptions.Item label={t('created')}>{f.dateTime(cu.created_at)}</Descriptions.Item>
              {defs.map((d) => (
                <Descriptions.Item key={d.key} label={fieldLabel(d, i18n.language)}>
                  {d.sensitive ? <Sensitive value={cu.custom?.[d.key]} /> : showValue(d, cu.custom?.[d.key], i18n.language)}
                </Descriptions.Item>
              ))}
            </Descriptions>
            <Form form={form} layout="vertical" initialValues={{ name: cu.name, lifecycle: cu.lifecycle, tags: cu.tags, custom: cu.custom }} onFinish={(v) => save.mutate(v)}
              onValuesChange={(ch) => form.setFields(changedNames(ch).map((name) => ({ name, errors: [] })))}>
              <Row gutter={12}>
                <Col span={12}><Form.Item name="name" label={t('name')}><Input /></Form.Item></Col>
                <Col span={12}>
                  <Form.Item name="lifecycle" label={t('lifecycle')}>
                    <Select options={LIFECYCLES.map((l) => ({ value: l, label: t('lifecycle_' + l) }))} />
                  </Form.Item>
                </Col>
              </Row>
              <Form.Item name="tags" label={t('tags')}><Select mode="tags" open={false} /></Form.Item>
              {defs.map((d) => (
                <Form.Item key={d.key} name={['custom', d.key]} label={fieldLabel(d, i18n.language)}>
                  <FieldInput def={d} />
                </Form.Item>
              ))}
              <Button type="primary" htmlType="submit" loading={save.isPending}>{t('common:action.save')}</Button>
            </Form>
          </Card>
          <Duplicates customer={cu} />
        </Col>
        <Col xs={24} lg={10}>
          <Interactions id={cu.id} />
          <Tasks id={cu.id} />
        </Col>
      </Row>
    </div>
  );
}

// Sensitive values stay masked on screen until a permitted viewer reveals them.
function Sensitive({ value }: { value: unknown }) {
  const { t } = useTranslation('customers');
  const [shown, setShown] = useState(false);
  if (value === undefined || value === null || value === '') return null;
  if (value === '••••••') return <span title={t('noAccess')}>••••••</span>;
  return shown ? (
    <span>{String(value)}</span>
  ) : (
    <Space>
      ••••••
      <Button size="small" type="link" onClick={() => setShown(true)} data-testid="reveal">{t('reveal')}</Button>
    </Space>
  );
}

function Interactions({ id }: { id: string }) {
  const { t } = useTranslation(['customers', 'common']);
  const tenant = useTenant();
  const f = useFormat();
  const { message } = App.useApp();
  const [form] = Form.useForm();
  const kind = Form.useWatch('kind', form);
  const list = useQuery({
    queryKey: ['tenant', tenant.slug, 'interactions', id],
    queryFn: () => get<{ items: { id: string; kind: string; summary: string; body?: string; occurred_at: string; amount?: string; currency?: string }[] }>(tpath(tenant.slug, `/customers/${id}/interactions`)),
  });
  const add = useMutation({
    mutationFn: (v: Record<string, unknown>) =>
      post(tpath(tenant.slug, `/customers/${id}/interactions`), {
        kind: v.kind, summary: v.summary, body: v.body || undefined,
        occurred_at: v.occurred_at ? (v.occurred_at as { toISOString: () => string }).toISOString() : undefined,
        amount: v.kind === 'purchase' ? String(v.amount ?? '') : undefined, currency: v.kind === 'purchase' ? 'CNY' : undefined,
      }),
    onSuccess: () => {
      form.resetFields();
      list.refetch();
    },
    onError: (e) => {
      const { fields, rest } = formErrors(e);
      form.setFields(fields.map((x) => ({ name: x.name, errors: x.errors })));
      rest.forEach((r) => message.error(r));
    },
  });
  return (
    <Card title={t('timeline')} style={{ marginBottom: 16 }}>
      <Form form={form} layout="vertical" initialValues={{ kind: 'call' }} onFinish={(v) => add.mutate(v)}>
        <Space wrap align="start">
          <Form.Item name="kind" label={t('kind')}><Select style={{ width: 130 }} options={KINDS.map((k) => ({ value: k, label: k }))} /></Form.Item>
          <Form.Item name="occurred_at" label={t('occurred')}><DatePicker showTime /></Form.Item>
          {kind === 'purchase' && <Form.Item name="amount" label={t('amount')}><InputNumber stringMode min="0" /></Form.Item>}
        </Space>
        <Form.Item name="summary" label={t('summary')} rules={[{ required: true }]}><Input /></Form.Item>
        <Form.Item name="body" label={t('body')}><Input.TextArea rows={2} /></Form.Item>
        <Button htmlType="submit" loading={add.isPending}>{t('addInteraction')}</Button>
      </Form>
      <Timeline style={{ marginTop: 24 }}
        items={(list.data?.items ?? []).map((i) => ({
          children: (
            <div>
              <Tag>{i.kind}</Tag> <b>{i.summary}</b> {i.amount && <span>· {f.money(i.amount, i.currency)}</span>}
              <div style={{ color: '#555b66', fontSize: 12 }}>{f.dateTime(i.occurred_at)}</div>
              {i.body && <div>{i.body}</div>}
            </div>
          ),
        }))}
      />
    </Card>
  );
}

function Tasks({ id }: { id: string }) {
  const { t } = useTranslation(['customers', 'common']);
  const tenant = useTenant();
  const f = useFormat();
  const [form] = Form.useForm();
  const { message } = App.useApp();
  const list = useQuery({
    queryKey: ['tenant', tenant.slug, 'tasks', id],
    queryFn: () => get<{ items: { id: string; title: string; due_at?: string; remind_at?: string; status: string }[] }>(tpath(tenant.slug, '/tasks'), { customer_id: id, status: 'open' }),
  });
  const act = useMutation({ mutationFn: (fn: () => Promise<unknown>) => fn(), onSuccess: () => list.refetch(), onError: (e) => message.error(errorMessage(e)) });
  return (
    <Card title={t('tasks')}>
      <Form form={form} layout="vertical" onFinish={(v) => act.mutate(async () => {
        await post(tpath(tenant.slug, '/tasks'), { title: v.title, customer_id: id, due_at: v.due_at?.toISOString(), remind_at: v.remind_at?.toISOString() });
        form.resetFields();
      })}>
        <Form.Item name="title" label={t('taskTitle')} rules={[{ required: true }]}><Input /></Form.Item>
        <Space wrap>
          <Form.Item name="due_at" label={t('due')}><DatePicker showTime /></Form.Item>
          <Form.Item name="remind_at" label={t('remind')}><DatePicker showTime /></Form.Item>
        </Space>
        <Button htmlType="submit">{t('addTask')}</Button>
      </Form>
      <List style={{ marginTop: 16 }} dataSource={list.data?.items ?? []}
        renderItem={(x) => (
          <List.Item actions={[
            <a key="c" onClick={() => act.mutate(() => post(tpath(tenant.slug, `/tasks/${x.id}/complete`)))}>{t('complete')}</a>,
            <a key="s" onClick={() => act.mutate(() => post(tpath(tenant.slug, `/tasks/${x.id}/snooze`), { until: new Date(Date.now() + 86400000).toISOString() }))}>{t('snooze')}</a>,
          ]}>
            <List.Item.Meta title={x.title} description={`${t('due')}: ${f.dateTime(x.due_at)}${x.remind_at ? ` · ${t('remind')}: ${f.dateTime(x.remind_at)}` : ''}`} />
          </List.Item>
        )}
      />
    </Card>
  );
}

function Duplicates({ customer }: { customer: Customer }) {
  const { t } = useTranslation('customers');
  const tenant = useTenant();
  const qc = useQueryClient();
  const { message } = App.useApp();
  const dups = useQuery({
    queryKey: ['tenant', tenant.slug, 'duplicates'],
    queryFn: () => get<{ items: { key: string; customers: string[] }[] }>(tpath(tenant.slug, '/customers/duplicates'), { limit: 200 }),
    retry: false,
  });
  const others = [...new Set((dups.data?.items ?? []).filter((g) => g.customers.includes(customer.id)).flatMap((g) => g.customers))]
    .filter((x) => x !== customer.id)
    .map((x) => ({ id: x, name: x }));
  const merge = useMutation({
    mutationFn: () => post(tpath(tenant.slug, '/customers/merge'), { winner_id: customer.id, loser_ids: others.map((o) => o.id) }),
    onSuccess: () => {
      message.success(t('saved'));
      qc.invalidateQueries({ queryKey: ['tenant', tenant.slug] });
    },
    onError: (e) => message.error(errorMessage(e)),
  });
  if (others.length === 0) return null;
  return (
    <Card title={t('duplicates')} style={{ marginBottom: 16, borderColor: '#ffd591' }}>
      <List size="small" dataSource={others} renderItem={(o) => <List.Item><a href={`/t/${tenant.slug}/customers/${o.id}`}>{o.name}</a></List.Item>} />
      <Button danger onClick={() => merge.mutate()} loading={merge.isPending}>{t('mergeInto')}</Button>
    </Card>
  );
}
