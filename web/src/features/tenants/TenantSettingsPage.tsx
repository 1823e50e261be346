// Company settings: name, time zone, default language, currency and modules.
// Members without settings.manage see them read-only.
import { useState } from 'react';
import { Alert, App, Button, Card, Col, Descriptions, Form, Input, Row, Switch, Typography } from 'antd';
import { useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { formErrors, patch, tpath } from '../../app/api';
import { P, useAccess, useCan } from '../../app/access';
import { meKey, useTenant } from '../../app/session';
import { settingsKey, useTenantSettings, type TenantSettings } from '../../app/tenantSettings';
import { ErrorState, Loading } from '../../app/states';
import { formatDateTime, formatMoney, localeFor } from '../../app/format';
import RegionalFields from './RegionalFields';
import BackupCard from './BackupCard';
import CloseCompanyCard from './CloseCompanyCard';
import './locales';

export default function TenantSettingsPage() {
  const { t, i18n } = useTranslation('tenants');
  const tenant = useTenant();
  const qc = useQueryClient();
  const { message } = App.useApp();
  const manage = useCan(P.settingsManage);
  const access = useAccess().data;
  const owner = access?.kind === 'user' && access.role === 'owner';
  const q = useTenantSettings(tenant.slug);
  const [form] = Form.useForm();
  const [busy, setBusy] = useState(false);
  const [rest, setRest] = useState<string[]>([]);
  const watched = Form.useWatch([], form) as Partial<TenantSettings> | undefined;

  if (q.isPending) return <Loading />;
  if (q.error) return <ErrorState error={q.error} onRetry={() => q.refetch()} />;
  const s = q.data;
  const preview = {
    locale: localeFor(i18n.language, watched?.locale ?? s.locale),
    timeZone: watched?.time_zone ?? s.time_zone,
    currency: watched?.currency ?? s.currency,
  };

  async function save(v: TenantSettings) {
    setBusy(true);
    setRest([]);
    try {
      const out = await patch<TenantSettings>(tpath(tenant.slug, '/settings'), {
        name: v.name,
        time_zone: v.time_zone,
        locale: v.locale,
        currency: v.currency,
        // Only what changed: some modules are core and refuse to be switched at all.
        modules: changedModules(s.modules, v.modules),
      });
      qc.setQueryData(settingsKey(tenant.slug), out);
      void qc.invalidateQueries({ queryKey: meKey });
      message.success(t('settings.saved'));
    } catch (e) {
      const { fields, rest } = formErrors(e);
      form.setFields(fields);
      setRest(rest);
    } finally {
      setBusy(false);
    }
  }

  return (
    <div data-testid="settings-page">
      <Typography.Title level={1} style={{ marginTop: 0, fontSize: 28 }}>
        {t('settings.title')}
      </Typography.Title>
      <Typography.Paragraph type="secondary">{t('settings.subtitle')}</Typography.Paragraph>
      {!manage && <Alert type="info" showIcon message={t('settings.readOnly')} style={{ marginBottom: 16 }} />}
      {rest.map((r) => (
        <Alert key={r} type="error" showIcon message={r} style={{ marginBottom: 16 }} role="alert" />
      ))}
      <Form form={form} layout="vertical" initialValues={s} onFinish={save} disabled={!manage}>
        <Row gutter={[16, 16]}>
          <Col xs={24} lg={12}>
            <Card title={t('settings.general')}>
              <Form.Item name="name" label={t('settings.name')} rules={[{ required: true, whitespace: true }, { max: 100 }]}>
                <Input />
              </Form.Item>
              <Form.Item label={t('settings.slug')} style={{ marginBottom: 0 }}>
                <code style={{ fontSize: 14, background: 'var(--c-page)', padding: '4px 8px', borderRadius: 4 }}>
                  {location.origin}/t/{s.slug}
                </code>
              </Form.Item>
            </Card>
            <Card title={t('settings.modules')} style={{ marginTop: 16 }}>
              <Typography.Paragraph type="secondary">{t('settings.modulesHelp')}</Typography.Paragraph>
              {Object.keys(s.modules ?? {})
                .sort()
                .map((m) => (
                  <Form.Item key={m} name={['modules', m]} valuePropName="checked" label={t(`settings.moduleNames.${m}`, { defaultValue: m })} layout="horizontal" colon={false} style={{ marginBottom: 8 }}>
                    <Switch />
                  </Form.Item>
                ))}
            </Card>
          </Col>
          <Col xs={24} lg={12}>
            <Card title={t('settings.regional')}>
              <RegionalFields />
              <Descriptions size="small" column={1} bordered title={t('settings.preview')}>
                <Descriptions.Item label={t('settings.timeZone')}>{formatDateTime(preview, new Date())}</Descriptions.Item>
                <Descriptions.Item label={t('settings.currency')}>{formatMoney(preview, '1234567.89')}</Descriptions.Item>
              </Descriptions>
            </Card>
          </Col>
        </Row>
        {manage && (
          <div style={{ marginTop: 16, display: 'flex', justifyContent: 'flex-end' }}>
            <Button type="primary" htmlType="submit" loading={busy} size="large" data-testid="settings-save">
              {t('common:action.save')}
            </Button>
          </div>
        )}
      </Form>
      {owner && <BackupCard slug={s.slug} />}
      {owner && <CloseCompanyCard slug={s.slug} name={s.name} />}
    </div>
  );
}

/** changedModules keeps the switches that differ from the saved state; undefined when none do. */
export function changedModules(saved: Record<string, boolean> | undefined, now: Record<string, boolean> | undefined): Record<string, boolean> | undefined {
  const out: Record<string, boolean> = {};
  for (const [k, v] of Object.entries(now ?? {})) if ((saved ?? {})[k] !== v) out[k] = v;
  return Object.keys(out).length ? out : undefined;
}
