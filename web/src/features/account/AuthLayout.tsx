// The frame of the signed-out screens: the product on the left, the form on
// the right, and the language switch.
import type { ReactNode } from 'react';
import { Button } from 'antd';
import { CheckCircleFilled } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { LANGS, setLang, type Lang } from '../../app/i18n';
import './locales';

export default function AuthLayout({ title, subtitle, children, footer }: { title: string; subtitle?: string; children: ReactNode; footer?: ReactNode }) {
  const { t, i18n } = useTranslation('account');
  const points = t('brand.points', { returnObjects: true }) as string[];
  return (
    <div style={{ minHeight: '100vh', display: 'flex', background: 'var(--c-page)' }}>
      <aside
        style={{
          flex: '0 0 42%',
          background: 'linear-gradient(150deg, #163a9e 0%, #1f4fd6 60%, #3b6cf0 100%)',
          color: '#fff',
          padding: '56px 64px',
          display: 'flex',
          flexDirection: 'column',
          justifyContent: 'space-between',
        }}
        className="auth-brand"
      >
        <div style={{ display: 'flex', alignItems: 'center', gap: 12 }}>
          <span aria-hidden style={{ width: 36, height: 36, borderRadius: 8, background: '#fff', color: '#1f4fd6', fontWeight: 800, display: 'inline-flex', alignItems: 'center', justifyContent: 'center', fontSize: 18 }}>
            C
          </span>
          <span style={{ fontSize: 22, fontWeight: 700 }}>Clientele</span>
        </div>
        <div>
          <h2 style={{ color: '#fff', fontSize: 34, lineHeight: 1.25, margin: '0 0 28px', fontWeight: 700 }}>{t('brand.tagline')}</h2>
          <ul style={{ listStyle: 'none', padding: 0, margin: 0, fontSize: 16, lineHeight: 2.2 }}>
            {Array.isArray(points) &&
              points.map((p) => (
                <li key={p}>
                  <CheckCircleFilled style={{ marginInlineEnd: 10, color: '#b9ccff' }} />
                  {p}
                </li>
              ))}
          </ul>
        </div>
        <small style={{ color: '#ffffff' }}>© Clientele</small>
      </aside>
      <main style={{ flex: 1, display: 'flex', flexDirection: 'column' }}>
        <div style={{ display: 'flex', justifyContent: 'flex-end', padding: 16 }}>
          {/* Plain buttons rather than a dropdown: the signed-out screens load no menu code. */}
          <div role="group" aria-label={t('common:nav.language')} style={{ display: 'flex', gap: 4 }}>
            {LANGS.map((l) => (
              <Button key={l.key} type={i18n.language === l.key ? 'link' : 'text'} aria-pressed={i18n.language === l.key} onClick={() => setLang(l.key as Lang)} data-testid={`lang-${l.key}`}>
                {l.label}
              </Button>
            ))}
          </div>
        </div>
        {/* The card hangs from the top rather than being centred: centred, it moved up
            when the form arrived after the flow's request (a layout shift). */}
        <div style={{ flex: 1, display: 'flex', alignItems: 'flex-start', justifyContent: 'center', padding: 'clamp(0px, 8vh, 96px) 24px 48px' }}>
          <section style={{ width: '100%', maxWidth: 440, background: 'var(--c-surface)', borderRadius: 10, border: '1px solid var(--c-border)', boxShadow: '0 8px 28px rgba(20,40,90,0.08)', padding: 36 }}>
            <h1 style={{ marginTop: 0, marginBottom: 8, fontSize: 26, fontWeight: 600, color: 'var(--c-text)' }}>{title}</h1>
            {subtitle && <p style={{ color: 'var(--c-text-2)', marginTop: 0, marginBottom: 20, lineHeight: 1.6 }}>{subtitle}</p>}
            {children}
            {footer && <div className="auth-footer" style={{ marginTop: 8, textAlign: 'center', lineHeight: 2 }}>{footer}</div>}
          </section>
        </div>
      </main>
    </div>
  );
}
