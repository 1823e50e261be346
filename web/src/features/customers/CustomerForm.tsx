// The customer's fields as form items, shared by the create drawer and the
// profile's edit form: standard fields, address, then custom fields by type.
import { Col, Form, Input, Row, Segmented, Select, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { FieldInput, MemberSelect } from './FieldInput';
import { type Customer, ADDRESS_PARTS } from './api';
import { type FieldDef, customPayload, fieldLabel, helpText, splitList } from './fields';
import { LIFECYCLES } from './locales';

export const FORM_FIELDS = ['kind', 'name', 'emails', 'phones', 'lifecycle', 'owner_id', 'tags', 'source', 'address', 'custom'];

export function CustomerFields({ defs }: { defs: FieldDef[] }) {
  const { t, i18n } = useTranslation(['customers', 'common']);
  // Several addresses or numbers go comma-separated in a plain input, so nothing typed is lost on save.
  const listSelect = (placeholder: string) => <Input placeholder={placeholder} />;
  return (
    <>
      <Form.Item name="kind" label={t('kind')}>
        <Segmented options={[{ value: 'person', label: t('person') }, { value: 'company', label: t('company') }]} />
      </Form.Item>
      <Form.Item name="name" label={t('name')} rules={[{ required: true, whitespace: true, message: t('nameRequired') }]}>
        <Input maxLength={200} />
      </Form.Item>
      <Row gutter={12}>
        <Col xs={24} md={12}>
          <Form.Item name="emails" label={t('emails')} extra={t('listHelp')}>{listSelect('li.lei@example.com')}</Form.Item>
        </Col>
        <Col xs={24} md={12}>
          <Form.Item name="phones" label={t('phones')} extra={t('listHelp')}>{listSelect('+86 139 1234 5678')}</Form.Item>
        </Col>
        <Col xs={24} md={12}>
          <Form.Item name="lifecycle" label={t('lifecycle')}>
            <Select options={LIFECYCLES.map((l) => ({ value: l, label: t('lifecycle_' + l) }))} />
          </Form.Item>
        </Col>
        <Col xs={24} md={12}>
          <Form.Item name="owner_id" label={t('owner')}>
            <MemberSelect />
          </Form.Item>
        </Col>
        <Col xs={24} md={12}>
          <Form.Item name="tags" label={t('tags')}>
            <Select mode="tags" open={false} suffixIcon={null} tokenSeparators={[',', '，']} placeholder="vip" />
          </Form.Item>
        </Col>
        <Col xs={24} md={12}>
          <Form.Item name="source" label={t('source')}>
            <Input placeholder={t('sourceHint')} />
          </Form.Item>
        </Col>
      </Row>
      <Typography.Title level={5} style={{ marginTop: 4 }}>{t('address')}</Typography.Title>
      <Row gutter={12}>
        {ADDRESS_PARTS.map((p) => (
          <Col key={p} xs={24} md={p === 'street' ? 24 : 12}>
            <Form.Item name={['address', p]} label={t('addr_' + p)}>
              {/* The server's caps: a province or city is a filter and BI value (200), other parts 500. */}
              <Input maxLength={p === 'province' || p === 'city' ? 200 : 500} />
            </Form.Item>
          </Col>
        ))}
      </Row>
      {defs.length > 0 && <Typography.Title level={5} style={{ marginTop: 4 }}>{t('custom')}</Typography.Title>}
      <Row gutter={12}>
        {defs.map((d) => (
          <Col key={d.key} xs={24} md={d.type === 'long_text' ? 24 : 12}>
            <Form.Item name={['custom', d.key]} label={fieldLabel(d, i18n.language)} extra={helpText(d, i18n.language)}
              rules={d.required ? [{ required: true, message: t('fieldRequired', { field: fieldLabel(d, i18n.language) }) }] : undefined}>
              <FieldInput def={d} />
            </Form.Item>
          </Col>
        ))}
      </Row>
    </>
  );
}

/** initialValues turns a customer (or nothing, for a new one) into form values. */
export function initialValues(defs: FieldDef[], c?: Customer, me?: string) {
  if (!c) {
    const custom: Record<string, unknown> = {};
    for (const d of defs) if (d.default !== undefined && d.default !== null) custom[d.key] = d.default;
    return { kind: 'person', lifecycle: 'lead', owner_id: me, emails: '', phones: '', tags: [], custom };
  }
  return { ...c, emails: c.emails.join(', '), phones: c.phones.join(', '), address: c.address ?? {}, custom: c.custom ?? {} };
}

/** toBody turns form values into the API's customer body. */
export function toBody(v: Record<string, unknown>, defs: FieldDef[], mode: 'create' | 'edit', before?: Customer): Record<string, unknown> {
  const address = Object.fromEntries(Object.entries((v.address as Record<string, string>) ?? {}).map(([k, x]) => [k, (x ?? '').trim()]).filter(([, x]) => x));
  const body: Record<string, unknown> = {
    kind: v.kind,
    name: typeof v.name === 'string' ? v.name.trim() : v.name,
    emails: splitList(v.emails),
    phones: splitList(v.phones, /[,;，；]+/),
    tags: splitList(v.tags, /[,，]+/),
    lifecycle: v.lifecycle,
    source: ((v.source as string) ?? '').trim(),
    custom: customPayload(v.custom as Record<string, unknown>, defs, mode, before?.custom),
  };
  if (v.owner_id) body.owner_id = v.owner_id;
  if (mode === 'create') {
    if (Object.keys(address).length) body.address = address;
    if (!body.source) delete body.source;
  } else {
    body.address = address;
  }
  return body;
}
