// The frame around every tenant screen: navigation, company switcher, the
// notification bell, language and account menu.
import { Suspense, lazy, useEffect, useMemo } from 'react';
import { Layout, Menu, Select, Dropdown, Button, Space } from 'antd';
import {
  TeamOutlined,
  DashboardOutlined,
  CheckSquareOutlined,
  ImportOutlined,
  ProfileOutlined,
  SettingOutlined,
  SafetyOutlined,
  KeyOutlined,
  AuditOutlined,
  UserOutlined,
  GlobalOutlined,
  ApartmentOutlined,
  IdcardOutlined,
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
      { key: `${base}/tasks`, icon: <CheckSquareOutlined />, label: <Link to={`${base}/tasks`}>{t('nav.tasks')}</Link> },
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
          can(access, P.apiKeysManage) && { key: `${base}/api-keys`, icon: <KeyOutlined />, label: <Link to={`${base}/api-keys`}>{t('nav.apiKeys')}</Link> },
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

  return (
    <Layout style={{ minHeight: '100vh' }}>
      <Sider breakpoint="lg" collapsedWidth={0} width={224} theme="light" style={{ borderRight: '1px solid #eef0f3' }}>
        <div style={{ height: 56, display: 'flex', alignItems: 'center', gap: 10, padding: '0 20px' }}>
          <span aria-hidden style={{ width: 28, height: 28, borderRadius: 6, background: '#1f4fd6', color: '#fff', fontWeight: 700, display: 'inline-flex', alignItems: 'center', justifyContent: 'center' }}>
            C
          </span>
          <span style={{ fontSize: 17, fontWeight: 600 }}>{t('app')}</span>
        </div>
        <nav aria-label="main">
          <Menu mode="inline" selectedKeys={[selected]} defaultOpenKeys={['admin']} items={items} style={{ borderInlineEnd: 0 }} />
        </nav>
      </Sider>
      <Layout>
        <Header
          style={{
            background: '#fff',
            padding: '0 24px',
            display: 'flex',
            alignItems: 'center',
            justifyContent: 'space-between',
            borderBottom: '1px solid #eef0f3',
            height: 56,
          }}
        >
          <Select
            aria-label={t('nav.switchCompany')}
            value={tenant.slug}
            style={{ minWidth: 220 }}
            onChange={(v) => (v === '__new' ? nav('/welcome') : nav(`/t/${v}`))}
            options={[
              ...me.memberships.map((m) => ({ value: m.slug, label: m.name })),
              { value: '__new', label: `+ ${t('nav.newCompany')}` },
            ]}
          />
          <Space size="middle">
            <Suspense fallback={null}>
              <NotificationBell />
            </Suspense>
            <Dropdown
              trigger={['click']}
              menu={{
                selectedKeys: [i18n.language],
                items: LANGS.map((l) => ({ key: l.key, label: l.label })),
                onClick: ({ key }) => setLang(key as Lang, me.identity.id),
              }}
            >
              <Button type="text" icon={<GlobalOutlined />} aria-label={t('nav.language')} data-testid="lang-switch">
                {LANGS.find((l) => l.key === i18n.language)?.label}
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
              <Button type="text" data-testid="user-menu" icon={<UserOutlined />}>
                {me.identity.name || me.identity.email}
              </Button>
            </Dropdown>
          </Space>
        </Header>
        <Content style={{ padding: 24, background: '#f6f7f9' }}>
          <main>
            <Suspense fallback={<Loading />}>
              <Outlet />
            </Suspense>
          </main>
        </Content>
      </Layout>
    </Layout>
  );
}
