// One customer: the record with every field rendered by type (sensitive values
// masked, with a reveal for members who may read them), an edit drawer with the
// API's errors next to their fields, open tasks with due and reminder times, the
// interaction timeline with a composer, and possible duplicates with a merge.
import './locales';
import { Suspense, lazy, useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { Breadcrumb, Button, Card, Col, Descriptions, Row, Space, Tag, Tooltip, Typography } from 'antd';
import { EditOutlined, EyeInvisibleOutlined, EyeOutlined, LockOutlined, TeamOutlined, UserOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { Link, useParams } from 'react-router-dom';
import { get, tpath } from '../../app/api';
import { useTenant } from '../../app/session';
import { useFormat } from '../../app/useFormat';
import { ErrorState, Loading } from '../../app/states';
import { type Customer, ADDRESS_PARTS, useFieldDefs, useMembers } from './api';
import { Duplicates } from './Duplicates';
import { Interactions } from './Interactions';
import { CustomerTasks } from './CustomerTasks';
import { CustomerScores } from './CustomerScores';
import { CustomerTickets } from '../tickets/CustomerTickets';
import { type FieldDef, MASK, fieldLabel, showValue } from './fields';
import { LIFECYCLE_COLOR } from './locales';

// The edit sheet (the whole form, every field input) loads when opened.
const EditCustomer = lazy(() => import('./EditCustomer'));

export default function CustomerPage() {
  const { t, i18n } = useTranslation(['customers', 'common']);
  const { id } = useParams();
  const tenant = useTenant();
  const f = useFormat();
  const members = useMembers(tenant.slug);
  const defsQ = useFieldDefs(tenant.slug);
  const defs = defsQ.data ?? [];
  const [editing, setEditing] = useState(false);
  const c = useQuery({ queryKey: ['tenant', tenant.slug, 'customer', id], queryFn: () => get<Customer>(tpath(tenant.slug, `/customers/${id}`)) });
  if (c.isPending || defsQ.isPending) return <Loading />;
  if (c.error) return <ErrorState error={c.error} onRetry={() => c.refetch()} />;
  const cu = c.data;
  const none = <Typography.Text type="secondary">{t('noValue')}</Typography.Text>;
  const or = (v: React.ReactNode) => (v === '' || v === undefined || v === null || (Array.isArray(v) && !v.length) ? none : v);
  const address = ADDRESS_PARTS.map((p) => cu.address?.[p]).filter(Boolean).join(', ');
  return (
    <div>
      <Breadcrumb style={{ marginBottom: 8 }} items={[{ title: <Link to={`/t/${tenant.slug}/customers`}>{t('allCustomers')}</Link> }, { title: cu.name }]} />
      <div style={{ display: 'flex', justifyContent: 'space-between', alignItems: 'flex-start', gap: 16, marginBottom: 16, flexWrap: 'wrap' }}>
        <div>
          <Space align="center" size={12} wrap>
            <span aria-hidden style={{ display: 'inline-flex', width: 44, height: 44, borderRadius: 22, background: 'var(--c-brand-soft)', color: 'var(--c-brand-on-soft)', alignItems: 'center', justifyContent: 'center', fontSize: 20, fontWeight: 600 }}>
              {cu.kind === 'company' ? <TeamOutlined /> : cu.name.slice(0, 1).toUpperCase()}
            </span>
            <Typography.Title level={1} style={{ margin: 0, fontSize: 28 }} data-testid="customer-name">{cu.name}</Typography.Title>
            <Tag color={LIFECYCLE_COLOR[cu.lifecycle]}>{t('lifecycle_' + cu.lifecycle)}</Tag>
            <Tag bordered={false} icon={cu.kind === 'company' ? <TeamOutlined /> : <UserOutlined />}>{t(cu.kind)}</Tag>
          </Space>
          <div style={{ marginTop: 6, marginLeft: 56 }}>
            <Typography.Text type="secondary">
              {[members.name(cu.owner_id) && `${t('owner')}: ${members.name(cu.owner_id)}`, `${t('created')} ${f.date(cu.created_at)}`, cu.source && `${t('source')}: ${cu.source}`].filter(Boolean).join(' · ')}
            </Typography.Text>
          </div>
        </div>
        <Button icon={<EditOutlined />} onClick={() => setEditing(true)} data-testid="edit-customer">{t('edit')}</Button>
      </div>
      <Row gutter={[16, 16]}>
        <Col xs={24} xl={10}>
          <Card title={t('details')} style={{ marginBottom: 16 }}>
            <Descriptions column={1} size="small" colon={false} styles={{ label: { width: 130 } }}>
              <Descriptions.Item label={t('emails')}>{or(cu.emails.map((e) => <div key={e}><a href={`mailto:${e}`}>{e}</a></div>))}</Descriptions.Item>
              <Descriptions.Item label={t('phones')}>{or(cu.phones.map((p) => <div key={p}><a href={`tel:${p.replace(/\s/g, '')}`}>{p}</a></div>))}</Descriptions.Item>
              <Descriptions.Item label={t('tags')}>{or(cu.tags.map((x) => <Tag key={x} bordered={false}>{x}</Tag>))}</Descriptions.Item>
              <Descriptions.Item label={t('owner')}>{or(members.name(cu.owner_id))}</Descriptions.Item>
              <Descriptions.Item label={t('address')}>{or(address)}</Descriptions.Item>
              <Descriptions.Item label={t('updated')}>{f.dateTime(cu.updated_at)}</Descriptions.Item>
            </Descriptions>
            {defs.length > 0 && (
              <>
                <Typography.Title level={5} style={{ marginTop: 20 }}>{t('custom')}</Typography.Title>
                <Descriptions column={1} size="small" colon={false} styles={{ label: { width: 130 } }} data-testid="custom-values">
                  {defs.map((d) => (
                    <Descriptions.Item key={d.key} label={fieldLabel(d, i18n.language)}>
                      {d.sensitive ? <Sensitive value={cu.custom?.[d.key]} /> : <CustomValue def={d} value={cu.custom?.[d.key]} />}
                    </Descriptions.Item>
                  ))}
                </Descriptions>
              </>
            )}
          </Card>
          <CustomerScores id={cu.id} />
          <Duplicates customer={cu} />
          <CustomerTasks id={cu.id} />
          <CustomerTickets id={cu.id} />
        </Col>
        <Col xs={24} xl={14}>
          <Interactions id={cu.id} />
        </Col>
      </Row>
      {editing && <Suspense fallback={null}><EditCustomer customer={cu} defs={defs} onClose={() => setEditing(false)} /></Suspense>}
    </div>
  );
}

function CustomValue({ def, value }: { def: FieldDef; value: unknown }) {
  const { i18n } = useTranslation();
  const f = useFormat();
  const tenant = useTenant();
  const members = useMembers(tenant.slug);
  const text = showValue(def, value, i18n.language, f, members.name);
  if (!text) return <Typography.Text type="secondary">—</Typography.Text>;
  if (def.type === 'url' && typeof value === 'string') return <a href={value} target="_blank" rel="noreferrer noopener">{text}</a>;
  if (def.type === 'email' && typeof value === 'string') return <a href={`mailto:${value}`}>{text}</a>;
  if (def.type === 'multi_select' || def.type === 'select') return <Space size={[0, 4]} wrap>{text.split(', ').map((x) => <Tag key={x} color="geekblue" bordered={false}>{x}</Tag>)}</Space>;
  if (def.type === 'rating') return <span style={{ color: 'var(--c-warn)', letterSpacing: 2 }} aria-label={String(value)}>{text}</span>;
  return <>{text}</>;
}

// Sensitive values stay masked on screen until a permitted viewer reveals them;
// a viewer without pii.read gets only the mask from the API.
function Sensitive({ value }: { value: unknown }) {
  const { t } = useTranslation('customers');
  const [shown, setShown] = useState(false);
  if (value === undefined || value === null || value === '') return <Typography.Text type="secondary">{t('noValue')}</Typography.Text>;
  if (value === MASK) {
    return (
      <Tooltip title={t('noAccess')}>
        <Space size={6}><LockOutlined aria-label={t('noAccess')} />{MASK}</Space>
      </Tooltip>
    );
  }
  return (
    <Space size={6}>
      <span style={{ fontFamily: 'ui-monospace, SFMono-Regular, Menlo, monospace' }} aria-live="polite">{shown ? String(value) : MASK}</span>
      <Button size="small" type="link" icon={shown ? <EyeInvisibleOutlined /> : <EyeOutlined />} onClick={() => setShown(!shown)} data-testid="reveal">
        {shown ? t('hide') : t('reveal')}
      </Button>
    </Space>
  );
}
