// The interaction timeline (append-only, newest first, filterable by kind, paged
// by cursor) with a composer: calls, emails, meetings, visits, notes, social,
// purchases (amount and currency) and feedback.
import { useInfiniteQuery, useMutation, useQueryClient } from '@tanstack/react-query';
import { App, AutoComplete, Button, Card, Col, DatePicker, Form, Input, InputNumber, Row, Select, Space, Tag, Timeline, Typography } from 'antd';
import {
  CommentOutlined, EnvironmentOutlined, FileTextOutlined, FundOutlined, MailOutlined, PhoneOutlined, ShoppingCartOutlined, SmileOutlined, TeamOutlined,
} from '@ant-design/icons';
import dayjs, { type Dayjs } from 'dayjs';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router-dom';
import { get, post, tpath } from '../../app/api';
import { useTenant } from '../../app/session';
import { useFormat } from '../../app/useFormat';
import { ErrorState } from '../../app/states';
import { CURRENCIES, useMembers } from './api';
import { changedNames } from './fields';
import { placeErrors } from './form';

export const KINDS = ['call', 'email', 'meeting', 'visit', 'note', 'social', 'purchase', 'feedback'] as const;
// The timeline also shows the customer's deals (created, moved, won, lost),
// which the sales funnel keeps; they are not logged here.
const FILTER_KINDS = [...KINDS, 'deal'] as const;

const ICON: Record<string, [React.ReactNode, string]> = {
  call: [<PhoneOutlined />, '#1d4ed8'],
  email: [<MailOutlined />, '#0e7490'],
  meeting: [<TeamOutlined />, '#6d28d9'],
  visit: [<EnvironmentOutlined />, '#b45309'],
  note: [<FileTextOutlined />, '#4b5563'],
  social: [<CommentOutlined />, '#be185d'],
  purchase: [<ShoppingCartOutlined />, '#15803d'],
  feedback: [<SmileOutlined />, '#c2410c'],
  deal: [<FundOutlined />, '#0f766e'],
};

interface Interaction { id: string; kind: string; summary: string; body?: string; channel?: string; occurred_at: string; amount?: string; currency?: string; actor_id?: string; link?: string }

export function Interactions({ id }: { id: string }) {
  const { t } = useTranslation(['customers', 'common']);
  const tenant = useTenant();
  const f = useFormat();
  const members = useMembers(tenant.slug);
  const qc = useQueryClient();
  const { message } = App.useApp();
  const [form] = Form.useForm();
  const kind = Form.useWatch('kind', form);
  const [filter, setFilter] = useState<string[]>([]);
  const key = ['tenant', tenant.slug, 'interactions', id, filter.join(',')];
  const list = useInfiniteQuery({
    queryKey: key,
    initialPageParam: '',
    queryFn: ({ pageParam }) =>
      get<{ items: Interaction[]; next_cursor?: string }>(tpath(tenant.slug, `/customers/${id}/interactions`), { kind: filter, limit: 30, cursor: pageParam || undefined }),
    getNextPageParam: (last) => last.next_cursor || undefined,
  });
  const add = useMutation({
    mutationFn: (v: Record<string, unknown>) =>
      post(tpath(tenant.slug, `/customers/${id}/interactions`), {
        kind: v.kind,
        summary: (v.summary as string).trim(),
        body: (v.body as string)?.trim() || undefined,
        channel: (v.channel as string)?.trim() || undefined,
        occurred_at: v.occurred_at ? (v.occurred_at as Dayjs).toISOString() : undefined,
        amount: v.kind === 'purchase' && v.amount ? String(v.amount) : undefined,
        currency: v.kind === 'purchase' ? ((v.currency as string) || f.settings.currency).toUpperCase() : undefined,
      }),
    onSuccess: () => {
      form.resetFields(['summary', 'body', 'amount', 'channel']);
      form.setFieldValue('occurred_at', dayjs());
      qc.invalidateQueries({ queryKey: ['tenant', tenant.slug, 'interactions', id] });
      message.success(t('saved'));
    },
    onError: (e, v) => {
      const r = placeErrors(e, (k) => ['kind', 'summary', 'body', 'channel', 'occurred_at', 'amount', 'currency'].includes(k), v);
      form.setFields(r.fields);
      r.rest.forEach((x) => message.error(x));
    },
  });
  const items = list.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <Card title={t('timeline')} extra={
      <Select mode="multiple" allowClear size="small" style={{ minWidth: 180 }} placeholder={t('allKinds')} aria-label={t('allKinds')} value={filter} onChange={setFilter}
        maxTagCount="responsive" options={FILTER_KINDS.map((k) => ({ value: k, label: t('kind_' + k) }))} />
    }>
      <Form form={form} layout="vertical" initialValues={{ kind: 'call', occurred_at: dayjs(), currency: f.settings.currency }} onFinish={(v) => add.mutate(v)}
        onValuesChange={(ch) => form.setFields(changedNames(ch).map((name) => ({ name, errors: [] })))}
        style={{ background: 'var(--c-surface-2)', border: '1px solid var(--c-border)', borderRadius: 8, padding: '12px 14px 0' }} data-testid="interaction-form">
        <Row gutter={12}>
          <Col xs={24} md={8}>
            <Form.Item name="kind" label={t('kind')}>
              <Select options={KINDS.map((k) => ({ value: k, label: <Space size={6}><span style={{ color: ICON[k][1] }}>{ICON[k][0]}</span>{t('kind_' + k)}</Space> }))} />
            </Form.Item>
          </Col>
          <Col xs={24} md={9}>
            <Form.Item name="occurred_at" label={t('occurred')}>
              <DatePicker showTime={{ format: 'HH:mm' }} format="YYYY-MM-DD HH:mm" style={{ width: '100%' }} />
            </Form.Item>
          </Col>
          <Col xs={24} md={7}>
            <Form.Item name="channel" label={t('channel')}>
              <Input placeholder="WeChat" />
            </Form.Item>
          </Col>
          {kind === 'purchase' && (
            <>
              <Col xs={16} md={12}>
                <Form.Item name="amount" label={t('amount')} rules={[{ required: true }]}>
                  <InputNumber<string> stringMode min="0" style={{ width: '100%' }} />
                </Form.Item>
              </Col>
              <Col xs={8} md={12}>
                <Form.Item name="currency" label={t('currency')}>
                  <AutoComplete options={CURRENCIES.map((c) => ({ value: c }))} />
                </Form.Item>
              </Col>
            </>
          )}
        </Row>
        <Form.Item name="summary" label={t('summary')} rules={[{ required: true, whitespace: true }]}>
          <Input maxLength={300} />
        </Form.Item>
        <Form.Item name="body" label={t('body')}>
          <Input.TextArea autoSize={{ minRows: 2, maxRows: 6 }} />
        </Form.Item>
        <Form.Item>
          <Button type="primary" htmlType="submit" loading={add.isPending} data-testid="add-interaction">{t('addInteraction')}</Button>
        </Form.Item>
      </Form>
      <div style={{ marginTop: 24 }}>
        {list.error ? (
          <ErrorState error={list.error} onRetry={() => list.refetch()} />
        ) : list.isPending ? (
          <Timeline pending={t('common:state.loading')} items={[]} />
        ) : items.length === 0 ? (
          <Typography.Paragraph type="secondary" style={{ textAlign: 'center', padding: 24 }}>{t('noInteractions')}</Typography.Paragraph>
        ) : (
          <Timeline
            items={items.map((i) => ({
              dot: <span style={{ color: ICON[i.kind]?.[1], fontSize: 16 }}>{ICON[i.kind]?.[0]}</span>,
              children: (
                <div data-testid="interaction">
                  <Space size={8} wrap>
                    <Tag bordered={false} color="default">{t('kind_' + i.kind)}</Tag>
                    {i.link ? <Link to={i.link}><Typography.Text strong>{i.summary}</Typography.Text></Link> : <Typography.Text strong>{i.summary}</Typography.Text>}
                    {i.amount && <Typography.Text style={{ color: 'var(--c-good)', fontWeight: 600 }}>{f.money(i.amount, i.currency)}</Typography.Text>}
                  </Space>
                  <div>
                    <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                      <time dateTime={i.occurred_at} title={f.dateTime(i.occurred_at)}>{f.dateTime(i.occurred_at)}</time>
                      {members.name(i.actor_id) && ` · ${members.name(i.actor_id)}`}
                      {i.channel && ` · ${i.channel}`}
                    </Typography.Text>
                  </div>
                  {i.body && <Typography.Paragraph style={{ margin: '4px 0 0', whiteSpace: 'pre-wrap' }}>{i.body}</Typography.Paragraph>}
                </div>
              ),
            }))}
          />
        )}
        {list.hasNextPage && (
          <Button block onClick={() => list.fetchNextPage()} loading={list.isFetchingNextPage}>{t('loadOlder')}</Button>
        )}
      </div>
    </Card>
  );
}
