// The company's dated exchange rates (汇率), which the board's sums and the
// analytics convert with: everyone who sees deals reads them, and members
// who shape the pipelines (deals.manage) add, replace and delete them. A
// refused rate shows the problem at its field.
import './locales';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { App, Button, Drawer, Form, Input, Popconfirm, Table, Typography } from 'antd';
import { DeleteOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { del, errorMessage, formErrors, get, post, tpath } from '../../app/api';
import { useCan } from '../../app/access';
import { useTenant } from '../../app/session';
import { ErrorState, Loading } from '../../app/states';

export interface ExchangeRate {
  id: string;
  base: string;
  currency: string;
  valid_from: string;
  rate: string;
}

interface RateForm {
  currency: string;
  valid_from: string;
  rate: string;
}

export default function RatesDrawer({ open, onClose }: { open: boolean; onClose: () => void }) {
  const { t } = useTranslation('funnel');
  const tenant = useTenant();
  const qc = useQueryClient();
  const { message } = App.useApp();
  const manage = useCan('deals.manage');
  const [form] = Form.useForm();
  const key = ['tenant', tenant.slug, 'exchange-rates'];
  const rates = useQuery({
    queryKey: key,
    queryFn: () => get<{ base: string; items: ExchangeRate[] }>(tpath(tenant.slug, '/exchange-rates')),
    enabled: open,
  });
  // A rate changes the board's sums and the analytics: they come again.
  const changed = () => {
    qc.invalidateQueries({ queryKey: key });
    qc.invalidateQueries({ queryKey: ['tenant', tenant.slug, 'board'] });
  };
  const set = useMutation({
    mutationFn: (v: RateForm) => post<ExchangeRate>(tpath(tenant.slug, '/exchange-rates'), { ...v, currency: v.currency.trim().toUpperCase(), rate: v.rate.trim() }),
    onSuccess: (r) => {
      message.success(t('rates.saved', { currency: r.currency, from: r.valid_from }));
      form.resetFields();
      changed();
    },
    onError: (err) => {
      const { fields, rest } = formErrors(err);
      form.setFields(fields);
      if (rest.length || !fields.length) message.error(rest.join(' ') || errorMessage(err));
    },
  });
  const remove = useMutation({
    mutationFn: (id: string) => del(tpath(tenant.slug, `/exchange-rates/${id}`)),
    onSuccess: changed,
    onError: (err) => message.error(errorMessage(err)),
  });
  return (
    <Drawer open={open} onClose={onClose} title={t('rates.title')} size="large" destroyOnHidden>
      {rates.error ? <ErrorState error={rates.error} onRetry={() => rates.refetch()} /> : !rates.data ? <Loading /> : (
        <>
          <Typography.Paragraph type="secondary">{t('rates.help', { base: rates.data.base })}</Typography.Paragraph>
          {manage && (
            <Form form={form} layout="inline" onFinish={(v: RateForm) => set.mutate(v)} style={{ marginBottom: 16, rowGap: 8 }} data-testid="rate-form">
              <Form.Item name="currency" label={t('rates.currency')} rules={[{ required: true, message: t('rates.required') }]}>
                <Input maxLength={3} style={{ width: 80 }} placeholder="USD" />
              </Form.Item>
              <Form.Item name="valid_from" label={t('rates.validFrom')} rules={[{ required: true, message: t('rates.required') }]}>
                <Input maxLength={10} style={{ width: 130 }} placeholder="2026-01-01" />
              </Form.Item>
              <Form.Item name="rate" label={t('rates.rate', { base: rates.data.base })} rules={[{ required: true, message: t('rates.required') }]}>
                <Input maxLength={30} style={{ width: 120 }} placeholder="7.1" />
              </Form.Item>
              <Button type="primary" htmlType="submit" loading={set.isPending}>{t('rates.save')}</Button>
            </Form>
          )}
          <Table size="small" rowKey="id" data-testid="rates-table" dataSource={rates.data.items} pagination={{ pageSize: 20, hideOnSinglePage: true }}
            locale={{ emptyText: t('rates.empty') }} scroll={{ x: true }}
            columns={[
              { title: t('rates.currency'), dataIndex: 'currency' },
              { title: t('rates.validFrom'), dataIndex: 'valid_from' },
              { title: t('rates.rate', { base: rates.data.base }), align: 'right', render: (_, r) => Number(r.rate).toString() },
              ...(manage ? [{
                title: '', key: 'delete', width: 48,
                render: (_: unknown, r: ExchangeRate) => (
                  <Popconfirm title={t('rates.confirmDelete')} onConfirm={() => remove.mutate(r.id)}>
                    <Button size="small" type="text" danger icon={<DeleteOutlined />} aria-label={t('rates.delete', { currency: r.currency, from: r.valid_from })} />
                  </Popconfirm>
                ),
              }] : []),
            ]} />
        </>
      )}
    </Drawer>
  );
}
