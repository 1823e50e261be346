// Possible duplicates of a customer (same normalised email or phone) and the
// merge dialog: pick the customer to keep, tick the ones to fold into it.
import { useState } from 'react';
import { useMutation, useQueries, useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, App, Button, Card, Checkbox, List, Modal, Radio, Space, Tag, Typography } from 'antd';
import { MergeCellsOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate } from 'react-router-dom';
import { get, post, tpath, errorMessage } from '../../app/api';
import { useTenant } from '../../app/session';
import { useFormat } from '../../app/useFormat';
import type { Customer } from './api';

interface Group { key: string; customers: string[] }

export function Duplicates({ customer }: { customer: Customer }) {
  const { t } = useTranslation('customers');
  const tenant = useTenant();
  const f = useFormat();
  const [open, setOpen] = useState(false);
  const dups = useQuery({
    queryKey: ['tenant', tenant.slug, 'customers', 'duplicates'],
    queryFn: () => get<{ items: Group[] }>(tpath(tenant.slug, '/customers/duplicates'), { limit: 200 }),
    retry: false,
    staleTime: 30_000,
  });
  const groups = (dups.data?.items ?? []).filter((g) => g.customers.includes(customer.id));
  const otherIds = [...new Set(groups.flatMap((g) => g.customers))].filter((x) => x !== customer.id);
  const others = useQueries({
    queries: otherIds.slice(0, 20).map((id) => ({
      queryKey: ['tenant', tenant.slug, 'customer', id],
      queryFn: () => get<Customer>(tpath(tenant.slug, `/customers/${id}`)),
      retry: false,
    })),
  });
  const found = others.map((q) => q.data).filter((x): x is Customer => !!x);
  if (found.length === 0) return null;
  const reason = (id: string) =>
    groups.filter((g) => g.customers.includes(id)).map((g) => (g.key.startsWith('e:') ? t('dupEmail') : t('dupPhone'))).join(' · ');
  return (
    <Card title={t('duplicates')} style={{ marginBottom: 16, borderColor: '#f5c26b' }} data-testid="duplicates"
      extra={<Button icon={<MergeCellsOutlined />} onClick={() => setOpen(true)} data-testid="open-merge">{t('mergeInto')}</Button>}>
      <List size="small" dataSource={found}
        renderItem={(o) => (
          <List.Item>
            <Space direction="vertical" size={0}>
              <Link to={`/t/${tenant.slug}/customers/${o.id}`}>{o.name}</Link>
              <Typography.Text type="secondary" style={{ fontSize: 12 }}>{[o.emails[0], o.phones[0], f.date(o.created_at)].filter(Boolean).join(' · ')}</Typography.Text>
            </Space>
            <Tag color="gold" bordered={false}>{reason(o.id)}</Tag>
          </List.Item>
        )} />
      {open && <MergeDialog all={[customer, ...found]} onClose={() => setOpen(false)} />}
    </Card>
  );
}

function MergeDialog({ all, onClose }: { all: Customer[]; onClose: () => void }) {
  const { t } = useTranslation(['customers', 'common']);
  const tenant = useTenant();
  const f = useFormat();
  const qc = useQueryClient();
  const nav = useNavigate();
  const { message } = App.useApp();
  const [winner, setWinner] = useState(all[0].id);
  const [losers, setLosers] = useState<string[]>(all.slice(1).map((c) => c.id));
  const merge = useMutation({
    mutationFn: () => post<Customer>(tpath(tenant.slug, '/customers/merge'), { winner_id: winner, loser_ids: losers.filter((x) => x !== winner) }),
    onSuccess: (c) => {
      message.success(t('merged'));
      qc.invalidateQueries({ queryKey: ['tenant', tenant.slug] });
      onClose();
      nav(`/t/${tenant.slug}/customers/${c.id}`);
    },
  });
  const keep = all.find((c) => c.id === winner)!;
  const chosen = losers.filter((x) => x !== winner);
  return (
    <Modal open width={640} title={t('mergeTitle', { name: keep.name })} onCancel={onClose}
      okText={t('mergeConfirm')} okButtonProps={{ danger: true, disabled: chosen.length === 0, loading: merge.isPending }}
      onOk={() => merge.mutate()}>
      <Typography.Paragraph type="secondary">{t('mergeHelp')}</Typography.Paragraph>
      {merge.error && <Alert type="error" showIcon message={errorMessage(merge.error)} style={{ marginBottom: 12 }} />}
      <List bordered dataSource={all}
        renderItem={(c) => (
          <List.Item>
            <Space align="start" style={{ width: '100%', justifyContent: 'space-between' }}>
              <Checkbox checked={c.id === winner || losers.includes(c.id)} disabled={c.id === winner}
                onChange={(e) => setLosers(e.target.checked ? [...losers, c.id] : losers.filter((x) => x !== c.id))}>
                <Space direction="vertical" size={0}>
                  <b>{c.name}</b>
                  <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                    {[c.emails.join(', '), c.phones.join(', '), `${t('created')} ${f.date(c.created_at)}`].filter(Boolean).join(' · ')}
                  </Typography.Text>
                </Space>
              </Checkbox>
              <Radio checked={c.id === winner} onChange={() => setWinner(c.id)} aria-label={`${t('keep')}: ${c.name}`}>{t('keep')}</Radio>
            </Space>
          </List.Item>
        )} />
    </Modal>
  );
}
