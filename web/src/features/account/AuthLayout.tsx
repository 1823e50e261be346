// The frame of the signed-out screens: the product on the left, the form on
// the right, and the language switch.
import type { ReactNode } from 'react';
import { Avatar, Button, Card, Dropdown, Typography } from 'antd';
import { CheckCircleFilled, GlobalOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { LANGS, setLang, type Lang } from '../../app/i18n';
import './locales';

export default function AuthLayout({ title, subtitle, children, footer }: { title: string; subtitle?: string; children: ReactNode; footer?: ReactNode }) {
  const { t, i18n } = useTranslation('account');
  const points = t('brand.points', { returnObjects: true }) as string[];
  return (
    <div style={{ minHeight: '100vh', display: 'flex', background: '#f6f7f9' }}>
      <aside
        aria-hidden="false"
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
          <Avatar shape="square" size={36} style={{ background: '#fff', color: '#1f4fd6', fontWeight: 800 }}>
            C
          </Avatar>
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
        <small style={{ color: '#dbe4ff' }}>© Clientele</small>
      </aside>
      <main style={{ flex: 1, display: 'flex', flexDirection: 'column' }}>
        <div style={{ display: 'flex', justifyContent: 'flex-end', padding: 16 }}>
          <Dropdown trigger={['click']} menu={{ selectedKeys: [i18n.language], items: LANGS.map((l) => ({ key: l.key, label: l.label })), onClick: ({ key }) => setLang(key as Lang) }}>
            <Button type="text" icon={<GlobalOutlined />} aria-label={t('common:nav.language')} data-testid="lang-switch">
              {LANGS.find((l) => l.key === i18n.language)?.label}
            </Button>
          </Dropdown>
        </div>
        <div style={{ flex: 1, display: 'flex', alignItems: 'center', justifyContent: 'center', padding: '0 24px 48px' }}>
          <Card style={{ width: '100%', maxWidth: 440, boxShadow: '0 8px 28px rgba(20,40,90,0.08)' }} styles={{ body: { padding: 36 } }}>
            <Typography.Title level={2} style={{ marginTop: 0, fontSize: 26 }}>
              {title}
            </Typography.Title>
            {subtitle && <Typography.Paragraph type="secondary">{subtitle}</Typography.Paragraph>}
            {children}
            {footer && <div style={{ marginTop: 8, textAlign: 'center' }}>{footer}</div>}
          </Card>
        </div>
      </main>
    </div>
  );
}
