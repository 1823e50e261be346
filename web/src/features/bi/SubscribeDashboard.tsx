// "Subscribe" on a dashboard: the dashboard by email on a schedule, to the
// member themselves; someone with bi.manage can also send it to every
// member of some roles (one subscription per recipient, as the API keeps
// them).
import './locales';
import { useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { App, Button, Checkbox, Form, Input, InputNumber, Modal, Select, Typography } from 'antd';
import { MailOutlined } from '@ant-design/icons';
import type { ButtonProps } from 'antd';
import { useTranslation } from 'react-i18next';
import { errorMessage, formErrors, get, post, tpath } from '../../app/api';
import { useTenant } from '../../app/session';
import { useCan } from '../../app/access';
import { subscriptionBodies, type SubscribeForm, type Subscription } from './subscriptions';

interface Form2 extends Omit<SubscribeForm, 'target'> {
  me: boolean;
  roles: string[];
}

export default function SubscribeDashboard({ id, name }: { id: string; name: string }) {
  const { t } = useTranslation('bi');
  const tenant = useTenant();
  const qc = useQueryClient();
  const { message } = App.useApp();
  const admin = useCan('bi.manage');
  const [open, setOpen] = useState(false);
  const [form] = Form.useForm<Form2>();
  const roles = useQuery({
    queryKey: ['tenant', tenant.slug, 'roles'],
    queryFn: async () => (await get<{ items: { key: string; name: string }[] }>(tpath(tenant.slug, '/roles'))).items,
    enabled: open && admin,
  });
  const subscribe = useMutation({
    mutationFn: async (v: Form2) => {
      const bodies = subscriptionBodies({ target: `dashboard:${id}`, frequency: v.frequency, weekday: v.weekday, month_day: v.month_day, time: v.time },
        { me: v.me, roles: admin ? v.roles ?? [] : [] });
      for (const b of bodies) await post<Subscription>(tpath(tenant.slug, '/bi/subscriptions'), b);
      return bodies.length;
    },
    onSuccess: (n) => {
      message.success(n > 1 ? t('subscribed_n', { count: n }) : t('subscribed'));
      setOpen(false);
      void qc.invalidateQueries({ queryKey: ['tenant', tenant.slug, 'bi', 'subscriptions'] });
    },
    onError: (err) => {
      const { fields, rest } = formErrors(err);
      const known = ['frequency', 'weekday', 'month_day', 'time', 'role'];
      form.setFields(fields.filter((x) => known.includes(String(x.name[0]))).map((x) => ({ name: (x.name[0] === 'role' ? 'roles' : x.name[0]) as keyof Form2, errors: x.errors })));
      const other = fields.filter((x) => !known.includes(String(x.name[0]))).flatMap((x) => x.errors);
      if (rest.length || other.length || !fields.length) message.error([...rest, ...other].join(' ') || errorMessage(err));
    },
  });
  const frequency = Form.useWatch('frequency', form);
  return (
    <>
      <Button icon={<MailOutlined />} onClick={() => setOpen(true)} data-testid="bi-subscribe-dashboard">{t('subscribe')}</Button>
      <Modal open={open} title={t('subscribe_title', { name })} onCancel={() => setOpen(false)} onOk={() => form.submit()} okText={t('subscribe')} cancelText={t('cancel')}
        confirmLoading={subscribe.isPending} destroyOnHidden okButtonProps={{ 'data-testid': 'bi-subscribe-ok' } as ButtonProps}>
        <Typography.Paragraph type="secondary">{t('subscribe_help')}</Typography.Paragraph>
        <Form<Form2> form={form} layout="vertical" preserve={false} initialValues={{ frequency: 'weekly', weekday: 1, month_day: 1, time: '08:00', me: true, roles: [] }}
          // Every value the form holds, a day its frequency shows only after the first render among them.
          onFinish={() => subscribe.mutate(form.getFieldsValue(true) as Form2)} data-testid="bi-subscribe-form">
          <Form.Item name="frequency" label={t('frequency')}>
            <Select aria-label={t('frequency')} options={(['daily', 'weekly', 'monthly'] as const).map((x) => ({ value: x, label: t(`freq_${x}`) }))} />
          </Form.Item>
          {frequency === 'weekly' && (
            <Form.Item name="weekday" label={t('weekday')}>
              <Select aria-label={t('weekday')} options={[1, 2, 3, 4, 5, 6, 7].map((d) => ({ value: d, label: t(`weekday_${d}`) }))} />
            </Form.Item>
          )}
          {frequency === 'monthly' && (
            <Form.Item name="month_day" label={t('month_day')}>
              <InputNumber min={1} max={31} aria-label={t('month_day')} />
            </Form.Item>
          )}
          <Form.Item name="time" label={t('time')} rules={[{ required: true, pattern: /^([01]\d|2[0-3]):[0-5]\d$/, message: t('time') }]}>
            <Input style={{ width: 100 }} aria-label={t('time')} inputMode="numeric" />
          </Form.Item>
          {admin ? (
            <Form.Item label={t('recipients')} required>
              <Form.Item name="me" valuePropName="checked" noStyle>
                <Checkbox data-testid="bi-subscribe-me">{t('recipient_me')}</Checkbox>
              </Form.Item>
              <Form.Item name="roles" noStyle
                rules={[({ getFieldValue }) => ({ validator: (_, v: string[]) => (getFieldValue('me') || v?.length ? Promise.resolve() : Promise.reject(new Error(t('recipient_needed')))) })]}>
                <Select mode="multiple" allowClear style={{ width: '100%', marginTop: 8 }} aria-label={t('recipient_roles')} placeholder={t('recipient_roles')}
                  loading={roles.isPending} data-testid="bi-subscribe-roles"
                  options={(roles.data ?? []).map((r) => ({ value: r.key, label: r.name }))} />
              </Form.Item>
            </Form.Item>
          ) : (
            <Form.Item name="me" hidden valuePropName="checked"><Checkbox /></Form.Item>
          )}
        </Form>
      </Modal>
    </>
  );
}
