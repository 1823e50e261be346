// The frame around every tenant screen: navigation, company switcher, the
// notification bell, language, theme and account menu. Below 992 px the side
// menu becomes a drawer behind a menu button; a skip link jumps to the content.
import { Suspense, lazy, useEffect, useMemo, useState } from 'react';
import { Layout, Menu, Dropdown, Button, Space, Drawer } from 'antd';
import {
  AppstoreOutlined,
  TeamOutlined,
  DashboardOutlined,
  CheckSquareOutlined,
  FundOutlined,
  CustomerServiceOutlined,
  ImportOutlined,
  ProfileOutlined,
  SettingOutlined,
  SafetyOutlined,
  KeyOutlined,
  ApiOutlined,
  FormOutlined,
  AuditOutlined,
  UserOutlined,
  GlobalOutlined,
  ApartmentOutlined,
  IdcardOutlined,
  MenuOutlined,
  BgColorsOutlined,
  LineChartOutlined,
  MailOutlined,
  DownOutlined,
} from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { Link, Outlet, useLocation, useNavigate } from 'react-router-dom';
import { useQueryClient } from '@tanstack/react-query';
import { post } from './api';
import { LANGS, applyCompanyDefault, setLang, type Lang } from './i18n';
import { useTenantSettings } from './tenantSettings';
import { useMe, useTenant } from './session';
import { P, can, useAccess } from './access';
import { Loading } from './states';
import { setThemeMode, themeMode, type ThemeMode } from './theme';
import { useNarrow } from './useMedia';

const NotificationBell = lazy(() => import('../features/notifications/NotificationBell'));

const { Header, Sider, Content } = Layout;

export default function Shell() {
  const { t, i18n } = useTranslation();
  const me = useMe().data!;
  const tenant = useTenant();
  const loc = useLocation();
  const nav = useNavigate();
  const qc = useQueryClient();
  const base = `/t/${tenant.slug}`;
  const access = useAccess().data;
  useEffect(() => localStorage.setItem('clientele.tenant', tenant.slug), [tenant.slug]);
  const companyLocale = useTenantSettings(tenant.slug).data?.locale;
  useEffect(() => applyCompanyDefault(me.identity.id, companyLocale), [me.identity.id, companyLocale]);

  const items = useMemo(
    () => [
      { key: base, icon: <DashboardOutlined />, label: <Link to={base}>{t('nav.home')}</Link> },
      { key: `${base}/customers`, icon: <TeamOutlined />, label: <Link to={`${base}/customers`}>{t('nav.customers')}</Link> },
      { key: `${base}/deals`, icon: <FundOutlined />, label: <Link to={`${base}/deals`}>{t('nav.deals')}</Link> },
      { key: `${base}/tasks`, icon: <CheckSquareOutlined />, label: <Link to={`${base}/tasks`}>{t('nav.tasks')}</Link> },
      { key: `${base}/tickets`, icon: <CustomerServiceOutlined />, label: <Link to={`${base}/tickets`}>{t('nav.tickets')}</Link> },
      { key: `${base}/dashboards`, icon: <AppstoreOutlined />, label: <Link to={`${base}/dashboards`}>{t('nav.dashboards')}</Link> },
      { key: `${base}/analytics`, icon: <LineChartOutlined />, label: <Link to={`${base}/analytics`}>{t('nav.analytics')}</Link> },
      { key: `${base}/reports`, icon: <MailOutlined />, label: <Link to={`${base}/reports`}>{t('nav.reports')}</Link> },
      { key: `${base}/imports`, icon: <ImportOutlined />, label: <Link to={`${base}/imports`}>{t('nav.imports')}</Link> },
      {
        key: 'admin',
        icon: <SettingOutlined />,
        label: t('nav.admin'),
        children: [
          can(access, P.fieldsManage) && { key: `${base}/fields`, icon: <ProfileOutlined />, label: <Link to={`${base}/fields`}>{t('nav.fields')}</Link> },
          { key: `${base}/members`, icon: <UserOutlined />, label: <Link to={`${base}/members`}>{t('nav.members')}</Link> },
          can(access, P.rolesManage) && { key: `${base}/roles`, icon: <SafetyOutlined />, label: <Link to={`${base}/roles`}>{t('nav.roles')}</Link> },
          { key: `${base}/teams`, icon: <ApartmentOutlined />, label: <Link to={`${base}/teams`}>{t('nav.teams')}</Link> },
          can(access, P.ticketsManage) && { key: `${base}/service-desk`, icon: <CustomerServiceOutlined />, label: <Link to={`${base}/service-desk`}>{t('nav.serviceDesk')}</Link> },
          can(access, P.apiKeysManage) && { key: `${base}/api-keys`, icon: <KeyOutlined />, label: <Link to={`${base}/api-keys`}>{t('nav.apiKeys')}</Link> },
          can(access, P.webhooksManage) && { key: `${base}/webhooks`, icon: <ApiOutlined />, label: <Link to={`${base}/webhooks`}>{t('nav.webhooks')}</Link> },
          can(access, P.formsManage) && { key: `${base}/lead-forms`, icon: <FormOutlined />, label: <Link to={`${base}/lead-forms`}>{t('nav.leadForms')}</Link> },
          can(access, P.auditRead) && { key: `${base}/audit`, icon: <AuditOutlined />, label: <Link to={`${base}/audit`}>{t('nav.audit')}</Link> },
          { key: `${base}/settings`, icon: <SettingOutlined />, label: <Link to={`${base}/settings`}>{t('nav.settings')}</Link> },
        ].filter((x): x is { key: string; icon: React.ReactElement; label: React.ReactElement } => !!x),
      },
    ],
    [base, t, access],
  );
  // The deepest menu key that prefixes the path is the selected one.
  const selected = useMemo(() => {
    const keys = [base, ...items.flatMap((i) => ('children' in i && i.children ? i.children.map((c) => c.key) : [i.key]))];
    return keys.filter((k) => loc.pathname === k || loc.pathname.startsWith(k + '/')).sort((a, b) => b.length - a.length)[0] ?? base;
  }, [items, loc.pathname, base]);

  async function logout() {
    try {
      await post('/logout');
    } finally {
      qc.clear();
      nav('/login', { replace: true });
    }
  }

  const narrow = useNarrow();
  const [drawer, setDrawer] = useState(false);
  const [mode, setMode] = useState<ThemeMode>(themeMode);
  // A page change closes the drawer (the menu's links navigate).
  useEffect(() => setDrawer(false), [loc.pathname]);

  const brand = (
    <div style={{ height: 56, display: 'flex', alignItems: 'center', gap: 10, padding: '0 20px' }}>
      <span aria-hidden style={{ width: 28, height: 28, borderRadius: 6, background: '#1f4fd6', color: '#fff', fontWeight: 700, display: 'inline-flex', alignItems: 'center', justifyContent: 'center' }}>
        C
      </span>
      <span style={{ fontSize: 17, fontWeight: 600 }}>{t('app')}</span>
    </div>
  );
  const menu = (
    <nav aria-label={t('nav.main')} data-testid="main-nav">
      <Menu mode="inline" selectedKeys={[selected]} defaultOpenKeys={['admin']} items={items} style={{ borderInlineEnd: 0 }} />
    </nav>
  );
  const userName = me.identity.name || me.identity.email;

  return (
    <Layout style={{ minHeight: '100vh' }}>
      <a
        href="#main"
        className="skip-link"
        onClick={(e) => {
          e.preventDefault();
          const main = document.getElementById('main');
          main?.focus();
          main?.scrollIntoView();
        }}
      >
        {t('nav.skip')}
      </a>
      {!narrow && (
        <Sider width={224} theme="light" style={{ borderRight: '1px solid var(--c-border)' }}>
          {brand}
          {menu}
        </Sider>
      )}
      {narrow && (
        <Drawer
          open={drawer}
          placement="left"
          size={288}
          onClose={() => setDrawer(false)}
          title={t('app')}
          closable={{ 'aria-label': t('nav.closeMenu') }}
          styles={{ body: { padding: 0 } }}
        >
          {menu}
        </Drawer>
      )}
      <Layout style={{ minWidth: 0 }}>
        <Header
          style={{
            background: 'var(--c-surface)',
            padding: narrow ? '0 8px' : '0 24px',
            display: 'flex',
            alignItems: 'center',
            justifyContent: 'space-between',
            gap: 8,
            borderBottom: '1px solid var(--c-border)',
            height: 56,
            lineHeight: 'normal',
          }}
        >
          <div style={{ display: 'flex', alignItems: 'center', gap: 4, minWidth: 0, flex: narrow ? 1 : undefined }}>
            {narrow && (
              <Button
                type="text"
                icon={<MenuOutlined />}
                aria-label={t('nav.openMenu')}
                aria-expanded={drawer}
                onClick={() => setDrawer(true)}
                data-testid="menu-open"
              />
            )}
            {/* The company switcher is a menu, not a Select: the first screen
                then carries no Select code (about 23 KB gzipped). */}
            <Dropdown
              trigger={['click']}
              menu={{
                selectable: true,
                selectedKeys: [tenant.slug],
                style: { maxHeight: 'min(60vh, 420px)', overflowY: 'auto' },
                items: [
                  ...me.memberships.map((m) => ({ key: m.slug, label: m.name })),
                  { type: 'divider' as const },
                  { key: '__new', label: `+ ${t('nav.newCompany')}` },
                ],
                onClick: ({ key }) => (key === '__new' ? nav('/welcome') : nav(`/t/${key}`)),
              }}
            >
              <Button
                data-testid="company-switch"
                aria-label={`${t('nav.switchCompany')}: ${tenant.name}`}
                style={narrow ? { minWidth: 0, flex: 1, maxWidth: 240, justifyContent: 'space-between' } : { minWidth: 220, justifyContent: 'space-between' }}
              >
                <span style={{ overflow: 'hidden', textOverflow: 'ellipsis', whiteSpace: 'nowrap' }}>{tenant.name}</span>
                <DownOutlined aria-hidden />
              </Button>
            </Dropdown>
          </div>
          <Space size={narrow ? 0 : 'small'}>
            <Suspense fallback={null}>
              <NotificationBell />
            </Suspense>
            <Dropdown
              trigger={['click']}
              menu={{
                selectable: true,
                selectedKeys: [mode],
                items: (['system', 'light', 'dark'] as const).map((k) => ({ key: k, label: t(`theme.${k}`) })),
                onClick: ({ key }) => {
                  setThemeMode(key as ThemeMode);
                  setMode(key as ThemeMode);
                },
              }}
            >
              <Button type="text" icon={<BgColorsOutlined />} aria-label={`${t('nav.theme')}: ${t(`theme.${mode}`)}`} data-testid="theme-switch" />
            </Dropdown>
            <Dropdown
              trigger={['click']}
              menu={{
                selectedKeys: [i18n.language],
                items: LANGS.map((l) => ({ key: l.key, label: l.label })),
                onClick: ({ key }) => setLang(key as Lang, me.identity.id),
              }}
            >
              <Button type="text" icon={<GlobalOutlined />} aria-label={`${t('nav.language')}: ${LANGS.find((l) => l.key === i18n.language)?.label}`} data-testid="lang-switch">
                {narrow ? null : LANGS.find((l) => l.key === i18n.language)?.label}
              </Button>
            </Dropdown>
            <Dropdown
              trigger={['click']}
              menu={{
                items: [
                  { key: 'account', icon: <IdcardOutlined />, label: t('nav.account'), onClick: () => nav('/settings') },
                  { type: 'divider' },
                  { key: 'logout', label: t('nav.logout'), onClick: logout },
                ],
              }}
            >
              <Button type="text" data-testid="user-menu" icon={<UserOutlined />} aria-label={t('nav.account_of', { name: userName })}>
                {narrow ? null : userName}
              </Button>
            </Dropdown>
          </Space>
        </Header>
        {/* antd's Content is the page's <main>. */}
        <Content id="main" tabIndex={-1} style={{ padding: narrow ? 12 : 24, background: 'var(--c-page)', minWidth: 0, outline: 'none' }}>
          <Suspense fallback={<Loading />}>
            <Outlet />
          </Suspense>
        </Content>
      </Layout>
    </Layout>
  );
}
