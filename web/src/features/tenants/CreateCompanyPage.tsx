// "Create your company": a first-time user names the company and its web
// address, then picks how dates and money are shown. Pending invitations are
// offered too, so an invited person can join instead.
import { useState } from 'react';
import { Alert, App, Button, Form, Input, Space, Steps } from 'antd';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate } from 'react-router-dom';
import { useQueryClient } from '@tanstack/react-query';
import { formErrors, patch, post, tpath } from '../../app/api';
import { meKey, useMe, type Membership } from '../../app/session';
import { settingsKey } from '../../app/tenantSettings';
import { LANGS, setLang, type Lang } from '../../app/i18n';
import RegionalFields from './RegionalFields';
import { SLUG_RE, guessZone, slugify } from './choices';
import './locales';

export default function CreateCompanyPage() {
  const { t, i18n } = useTranslation('tenants');
  const me = useMe().data!;
  const qc = useQueryClient();
  const nav = useNavigate();
  const { message } = App.useApp();
  const [step, setStep] = useState(0);
  const [created, setCreated] = useState<Membership>();
  const [busy, setBusy] = useState(false);
  const [rest, setRest] = useState<string[]>([]);
  const [form] = Form.useForm();
  const [prefs] = Form.useForm();
  const [slugTouched, setSlugTouched] = useState(false);
  const slug = Form.useWatch('slug', form) as string | undefined;
  // Kept out of the account feature's module so this screen does not load Kratos's client.
  const [verifyFlow, setVerifyFlow] = useState(() => sessionStorage.getItem('clientele.verifyFlow'));

  async function create(v: { name: string; slug: string }) {
    setBusy(true);
    setRest([]);
    try {
      const m = await post<Membership>('/tenants', { name: v.name.trim(), slug: v.slug });
      setCreated(m);
      localStorage.setItem('clientele.tenant', m.slug);
      await qc.invalidateQueries({ queryKey: meKey });
      setStep(1);
    } catch (e) {
      const { fields, rest } = formErrors(e);
      form.setFields(fields);
      setRest(rest);
    } finally {
      setBusy(false);
    }
  }

  async function savePrefs(v: { time_zone: string; locale: string; currency: string }) {
    if (!created) return;
    setBusy(true);
    setRest([]);
    try {
      const s = await patch(tpath(created.slug, '/settings'), v);
      qc.setQueryData(settingsKey(created.slug), s);
      nav(`/t/${created.slug}`, { replace: true });
    } catch (e) {
      const { fields, rest } = formErrors(e);
      prefs.setFields(fields);
      setRest(rest);
    } finally {
      setBusy(false);
    }
  }

  async function accept(inv: Me['invitations'][number]) {
    try {
      const m = await post<Membership>(`/invitations/${inv.id}/accept`, { tenant: inv.tenant_slug });
      await qc.invalidateQueries({ queryKey: meKey });
      nav(`/t/${m.slug}`);
    } catch (e) {
      message.error(formErrors(e).rest.join(' ') || String(e));
    }
  }

  async function reopen(slug: string) {
    try {
      const m = await post<Membership>(`/companies/${encodeURIComponent(slug)}/reopen`);
      await qc.invalidateQueries({ queryKey: meKey });
      nav(`/t/${m.slug}`);
    } catch (e) {
      message.error(formErrors(e).rest.join(' ') || String(e));
    }
  }

  async function logout() {
    try {
      await post('/logout');
    } finally {
      qc.clear();
      nav('/login', { replace: true });
    }
  }

  return (
    <div style={{ minHeight: '100vh', background: 'var(--c-page)' }}>
      <header style={{ height: 56, background: 'var(--c-surface)', borderBottom: '1px solid var(--c-border)', display: 'flex', alignItems: 'center', justifyContent: 'space-between', padding: '0 24px' }}>
        <Space>
          <span aria-hidden style={{ width: 28, height: 28, borderRadius: 6, background: '#1f4fd6', color: '#fff', fontWeight: 700, display: 'inline-flex', alignItems: 'center', justifyContent: 'center' }}>
            C
          </span>
          <span style={{ fontSize: 17, fontWeight: 600 }}>Clientele</span>
        </Space>
        <Space>
          <Select_ lang={i18n.language} onChange={(l) => setLang(l, me.identity.id)} />
          <span style={{ color: 'var(--c-text-2)' }}>{me.identity.email}</span>
          <Button onClick={logout}>{t('wizard.logout')}</Button>
        </Space>
      </header>
      <main style={{ maxWidth: 640, margin: '0 auto', padding: '48px 24px' }}>
        <h1 style={{ marginTop: 0, marginBottom: 8, fontSize: 30, fontWeight: 600 }}>{t('wizard.title')}</h1>
        <p style={{ color: 'var(--c-text-2)', marginTop: 0 }}>{t('wizard.subtitle')}</p>
        {verifyFlow && (
          <Alert
            type="info"
            showIcon
            closable
            onClose={() => {
              sessionStorage.removeItem('clientele.verifyFlow');
              setVerifyFlow(null);
            }}
            style={{ margin: '16px 0' }}
            message={t('wizard.verify', { email: me.identity.email })}
            action={
              <Link to={`/verification?flow=${encodeURIComponent(verifyFlow)}`} onClick={() => sessionStorage.removeItem('clientele.verifyFlow')}>
                {t('wizard.verifyNow')}
              </Link>
            }
          />
        )}
        <Steps
          current={step}
          style={{ margin: '24px 0' }}
          items={[{ title: t('wizard.stepCompany') }, { title: t('wizard.stepPrefs') }, { title: t('wizard.stepDone') }]}
        />
        {(me.closing ?? []).length > 0 && step === 0 && (
          <Panel style={{ marginBottom: 24 }}>
            <h2 style={{ marginTop: 0, fontSize: 18, fontWeight: 600 }}>{t('close.closingTitle')}</h2>
            <ul style={{ listStyle: 'none', margin: 0, padding: 0 }} data-testid="closing-companies">
              {(me.closing ?? []).map((c) => (
                <li key={c.slug} style={{ display: 'flex', justifyContent: 'space-between', alignItems: 'center', gap: 12, padding: '10px 0', borderTop: '1px solid var(--c-border)' }}>
                  <span>
                    <strong>{c.name}</strong>
                    <br />
                    <span style={{ color: 'var(--c-text-2)' }}>{t('close.deletedOn', { date: new Date(c.purge_after).toLocaleString(i18n.language === 'zh' ? 'zh-CN' : 'en') })}</span>
                  </span>
                  <Button onClick={() => reopen(c.slug)} data-testid={`reopen-${c.slug}`}>
                    {t('close.reopen')}
                  </Button>
                </li>
              ))}
            </ul>
          </Panel>
        )}
        {me.invitations.length > 0 && step === 0 && (
          <Panel style={{ marginBottom: 24 }}>
            <h2 style={{ marginTop: 0, fontSize: 18, fontWeight: 600 }}>{t('wizard.invitations')}</h2>
            <ul style={{ listStyle: 'none', margin: 0, padding: 0 }}>
              {me.invitations.map((inv) => (
                <li key={inv.id} style={{ display: 'flex', justifyContent: 'space-between', alignItems: 'center', padding: '10px 0', borderTop: '1px solid var(--c-border)' }}>
                  <span>
                    <strong>{inv.tenant_name}</strong>
                    <br />
                    <span style={{ color: 'var(--c-text-2)' }}>{t('wizard.invitedAs', { role: inv.role })}</span>
                  </span>
                  <Button type="primary" onClick={() => accept(inv)}>
                    {t('wizard.accept')}
                  </Button>
                </li>
              ))}
            </ul>
          </Panel>
        )}
        <Panel>
          {rest.map((r) => (
            <Alert key={r} type="error" showIcon message={r} style={{ marginBottom: 16 }} role="alert" />
          ))}
          {step === 0 && (
            <Form form={form} layout="vertical" size="large" onFinish={create} data-testid="company-form" requiredMark={false}>
              <Form.Item name="name" label={t('wizard.name')} rules={[{ required: true, whitespace: true, message: t('wizard.required') }, { max: 100 }]}>
                <Input
                  placeholder={t('wizard.namePlaceholder')}
                  autoFocus
                  data-testid="field-name"
                  onChange={(e) => {
                    if (!slugTouched) form.setFieldValue('slug', slugify(e.target.value));
                  }}
                />
              </Form.Item>
              <Form.Item
                name="slug"
                label={t('wizard.slug')}
                extra={t('wizard.slugHelp', { slug: slug || 'acme' })}
                rules={[
                  { required: true, message: t('wizard.required') },
                  { pattern: SLUG_RE, message: t('wizard.slugPattern') },
                ]}
              >
                <Input addonBefore="/t/" data-testid="field-slug" onChange={() => setSlugTouched(true)} />
              </Form.Item>
              <Button type="primary" htmlType="submit" loading={busy} block data-testid="create-company">
                {t('wizard.create')}
              </Button>
            </Form>
          )}
          {step === 1 && created && (
            <Form
              form={prefs}
              layout="vertical"
              size="large"
              onFinish={savePrefs}
              data-testid="prefs-form"
              initialValues={{ time_zone: guessZone(), locale: i18n.language === 'zh' ? 'zh-CN' : 'en', currency: i18n.language === 'zh' ? 'CNY' : 'USD' }}
            >
              <h2 style={{ marginTop: 0, fontSize: 20, fontWeight: 600 }}>{t('wizard.prefsTitle', { name: created.name })}</h2>
              <p style={{ color: 'var(--c-text-2)' }}>{t('wizard.prefsSubtitle')}</p>
              <RegionalFields />
              <Space style={{ width: '100%', justifyContent: 'space-between' }}>
                <Button onClick={() => nav(`/t/${created.slug}`, { replace: true })}>{t('wizard.skip')}</Button>
                <Button type="primary" htmlType="submit" loading={busy} data-testid="finish-company">
                  {t('wizard.finish')}
                </Button>
              </Space>
            </Form>
          )}
        </Panel>
      </main>
    </div>
  );
}

/** A white panel; lighter than antd's Card on this first screen. */
function Panel({ children, style }: { children: React.ReactNode; style?: React.CSSProperties }) {
  return <section style={{ background: 'var(--c-surface)', border: '1px solid var(--c-border)', borderRadius: 10, padding: 32, ...style }}>{children}</section>;
}

type Me = NonNullable<ReturnType<typeof useMe>['data']>;

function Select_({ lang, onChange }: { lang: string; onChange: (l: Lang) => void }) {
  const { t } = useTranslation();
  return (
    <Space size={4} role="group" aria-label={t('nav.language')}>
      {LANGS.map((l) => (
        <Button key={l.key} type={lang === l.key ? 'link' : 'text'} aria-pressed={lang === l.key} onClick={() => onChange(l.key)} data-testid={`lang-${l.key}`}>
          {l.label}
        </Button>
      ))}
    </Space>
  );
}
