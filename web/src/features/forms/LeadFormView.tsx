// The form as a visitor sees it: the hosted page renders it live, the
// builder renders it as its preview.
import { Button, Checkbox, Form, Input, InputNumber, Select, Switch, type FormInstance } from 'antd';
import { useTranslation } from 'react-i18next';
import { pick, type PublicField, type PublicLeadForm } from './api';

export interface LeadFormValues {
  fields: Record<string, unknown>;
  consent?: boolean;
  website?: string;
}

function control(f: PublicField, lang: string, disabled: boolean) {
  const options = (f.options ?? []).map((o) => ({ value: o.value, label: pick(lang, o.label_en, o.label_zh) || o.value }));
  const tid = `lead-field-${f.key}`;
  switch (f.type) {
    case 'long_text':
      return <Input.TextArea rows={4} maxLength={f.max_length} disabled={disabled} data-testid={tid} />;
    case 'email':
      return <Input type="email" autoComplete="email" maxLength={f.max_length} disabled={disabled} data-testid={tid} />;
    case 'phone':
      return <Input type="tel" autoComplete="tel" maxLength={f.max_length} disabled={disabled} data-testid={tid} />;
    case 'number':
    case 'rating':
      return <InputNumber style={{ width: '100%' }} disabled={disabled} data-testid={tid} />;
    case 'boolean':
      return <Switch disabled={disabled} data-testid={tid} />;
    case 'select':
      return <Select options={options} allowClear disabled={disabled} data-testid={tid} />;
    case 'multi_select':
      return <Select mode="multiple" options={options} disabled={disabled} data-testid={tid} />;
    case 'date':
      return <Input type="date" disabled={disabled} data-testid={tid} />;
    default:
      return <Input maxLength={f.max_length} autoComplete={f.key === 'name' ? 'name' : undefined} disabled={disabled} data-testid={tid} />;
  }
}

export function LeadFormView({ form, data, onFinish, busy, disabled = false }: { form?: FormInstance<LeadFormValues>; data: PublicLeadForm; onFinish?: (v: LeadFormValues) => void; busy?: boolean; disabled?: boolean }) {
  const { t } = useTranslation('forms');
  const lang = data.locale;
  return (
    <Form form={form} layout="vertical" onFinish={onFinish} data-testid="lead-form">
      {data.fields.map((f) => (
        <Form.Item
          key={f.key}
          name={['fields', f.key]}
          label={f.label}
          valuePropName={f.type === 'boolean' ? 'checked' : 'value'}
          rules={f.required ? [{ required: true, message: lang === 'zh-CN' ? `请填写${f.label}` : `${f.label} is required` }] : undefined}
        >
          {control(f, lang, disabled)}
        </Form.Item>
      ))}
      {data.consent && (
        <Form.Item name="consent" valuePropName="checked" rules={[{ validator: (_, v) => (v || disabled ? Promise.resolve() : Promise.reject(new Error(lang === 'zh-CN' ? '请勾选同意后再提交' : 'Tick the box to send the form'))) }]}>
          <Checkbox disabled={disabled} data-testid="lead-consent">
            {data.consent}
          </Checkbox>
        </Form.Item>
      )}
      {/* The honeypot: hidden from people, filled in by robots, refused by the server. */}
      <div aria-hidden="true" style={{ position: 'absolute', left: -10000, width: 1, height: 1, overflow: 'hidden' }}>
        <Form.Item name="website" label={t('website')}>
          <Input tabIndex={-1} autoComplete="off" />
        </Form.Item>
      </div>
      <Button type="primary" htmlType="submit" loading={busy} disabled={disabled} data-testid="lead-send">
        {data.submit}
      </Button>
    </Form>
  );
}
