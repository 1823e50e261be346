// The create drawer: every field by type, the API's 422 entries next to their
// fields, and on 409 a warning linking the customer who holds the email or
// phone already, with "create anyway" (allow_duplicate=true).
import { useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, App, Button, Drawer, Form, Space } from 'antd';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate } from 'react-router-dom';
import { ApiError, get, post, tpath } from '../../app/api';
import { useMe, useTenant } from '../../app/session';
import { type Customer } from './api';
import { CustomerFields, FORM_FIELDS, initialValues, toBody } from './CustomerForm';
import { type FieldDef, changedNames, conflictIds } from './fields';
import { placeErrors } from './form';

export function CreateCustomer({ defs, onClose }: { defs: FieldDef[]; onClose: () => void }) {
  const { t } = useTranslation(['customers', 'common']);
  const tenant = useTenant();
  const me = useMe().data;
  const nav = useNavigate();
  const qc = useQueryClient();
  const { message } = App.useApp();
  const [form] = Form.useForm();
  const [dups, setDups] = useState<string[] | null>(null);
  const [rest, setRest] = useState<string[]>([]);
  const save = useMutation({
    mutationFn: ({ v, allow }: { v: Record<string, unknown>; allow: boolean }) =>
      post<Customer>(tpath(tenant.slug, '/customers'), toBody(v, defs, 'create'), allow ? { allow_duplicate: true } : undefined),
    onSuccess: (c) => {
      message.success(t('created_ok'));
      qc.invalidateQueries({ queryKey: ['tenant', tenant.slug, 'customers'] });
      onClose();
      nav(`/t/${tenant.slug}/customers/${c.id}`);
    },
    onError: (e, { v }) => {
      if (e instanceof ApiError && e.status === 409) {
        setDups(conflictIds(e));
        return;
      }
      const r = placeErrors(e, (k) => FORM_FIELDS.includes(k), v);
      form.setFields(r.fields);
      setRest(r.rest);
    },
  });
  const submit = (allow: boolean) => {
    setRest([]);
    setDups(null);
    form.validateFields().then((v) => save.mutate({ v, allow }), () => undefined);
  };
  return (
    <Drawer open width={640} title={t('new')} onClose={onClose} destroyOnHidden
      extra={
        <Space>
          <Button onClick={onClose}>{t('common:action.cancel')}</Button>
          <Button type="primary" loading={save.isPending} onClick={() => submit(false)} data-testid="save-customer">{t('common:action.create')}</Button>
        </Space>
      }>
      {dups && (
        <Alert
          type="warning"
          showIcon
          role="alert"
          style={{ marginBottom: 16 }}
          message={t('duplicate')}
          description={
            <Space direction="vertical" size={4}>
              {dups.map((id) => <DupLink key={id} id={id} onOpen={onClose} />)}
              <Button size="small" onClick={() => submit(true)} data-testid="create-anyway">{t('createAnyway')}</Button>
            </Space>
          }
        />
      )}
      {rest.map((r) => <Alert key={r} type="error" showIcon message={r} style={{ marginBottom: 12 }} />)}
      <Form form={form} layout="vertical" initialValues={initialValues(defs, undefined, me?.identity.id)} data-testid="customer-form"
        onValuesChange={(ch) => form.setFields(changedNames(ch).map((name) => ({ name, errors: [] })))}
        onFinish={() => submit(false)}>
        <CustomerFields defs={defs} />
      </Form>
    </Drawer>
  );
}

function DupLink({ id, onOpen }: { id: string; onOpen: () => void }) {
  const { t } = useTranslation('customers');
  const tenant = useTenant();
  const c = useQuery({ queryKey: ['tenant', tenant.slug, 'customer', id], queryFn: () => get<Customer>(tpath(tenant.slug, `/customers/${id}`)), retry: false });
  return (
    <Link to={`/t/${tenant.slug}/customers/${id}`} onClick={onOpen} data-testid="duplicate-link">
      {t('openExisting')}: {c.data ? `${c.data.name}${c.data.emails[0] ? ` · ${c.data.emails[0]}` : ''}` : id.slice(0, 8)}
    </Link>
  );
}
