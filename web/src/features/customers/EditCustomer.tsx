// A customer's edit sheet, with the API's errors next to their fields; in a
// chunk of its own, loaded when someone edits.
import './locales';
import { useState } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Alert, App, Button, Drawer, Form, Space } from 'antd';
import { useTranslation } from 'react-i18next';
import { patch, tpath } from '../../app/api';
import { useTenant } from '../../app/session';
import { type Customer } from './api';
import { CustomerFields, FORM_FIELDS, initialValues, toBody } from './CustomerForm';
import { type FieldDef, changedNames } from './fields';
import { placeErrors } from './form';

export default function EditCustomer({ customer, defs, onClose }: { customer: Customer; defs: FieldDef[]; onClose: () => void }) {
  const { t } = useTranslation(['customers', 'common']);
  const tenant = useTenant();
  const qc = useQueryClient();
  const { message } = App.useApp();
  const [form] = Form.useForm();
  const [rest, setRest] = useState<string[]>([]);
  const save = useMutation({
    mutationFn: (v: Record<string, unknown>) => patch<Customer>(tpath(tenant.slug, `/customers/${customer.id}`), toBody(v, defs, 'edit', customer)),
    onSuccess: (nc) => {
      qc.setQueryData(['tenant', tenant.slug, 'customer', customer.id], nc);
      qc.invalidateQueries({ queryKey: ['tenant', tenant.slug, 'customers'] });
      message.success(t('saved'));
      onClose();
    },
    onError: (e, v) => {
      const r = placeErrors(e, (k) => FORM_FIELDS.includes(k), v);
      form.setFields(r.fields);
      setRest(r.rest);
    },
  });
  const submit = () => {
    setRest([]);
    form.validateFields().then((v) => save.mutate(v), () => undefined);
  };
  return (
    <Drawer open width={640} title={`${t('edit')}: ${customer.name}`} onClose={onClose} destroyOnHidden
      extra={
        <Space>
          <Button onClick={onClose}>{t('common:action.cancel')}</Button>
          <Button type="primary" loading={save.isPending} onClick={submit} data-testid="save-edit">{t('common:action.save')}</Button>
        </Space>
      }>
      {rest.map((r) => <Alert key={r} type="error" showIcon message={r} style={{ marginBottom: 12 }} />)}
      <Form form={form} layout="vertical" initialValues={initialValues(defs, customer)} data-testid="edit-form" onFinish={submit}
        onValuesChange={(ch) => form.setFields(changedNames(ch).map((name) => ({ name, errors: [] })))}>
        <CustomerFields defs={defs} />
      </Form>
    </Drawer>
  );
}
