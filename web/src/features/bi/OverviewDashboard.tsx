// The company's first provisioned dashboard (the sales overview), shown on the
// overview page under its headline numbers, with a link to open it whole.
import './locales';
import { useQuery } from '@tanstack/react-query';
import { Card } from 'antd';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router-dom';
import { get, tpath } from '../../app/api';
import { useTenant } from '../../app/session';
import DashboardView from './DashboardView';
import { nameOf, type Dashboard } from './dashboards';

/** The provision key of the dashboard the overview page shows. */
export const OVERVIEW_KEY = 'sales_overview';

export default function OverviewDashboard() {
  const { t, i18n } = useTranslation('bi');
  const tenant = useTenant();
  const list = useQuery({
    queryKey: ['tenant', tenant.slug, 'bi', 'dashboards'],
    queryFn: () => get<{ items: Dashboard[] }>(tpath(tenant.slug, '/bi/dashboards'), { limit: 200 }),
    retry: false,
  });
  const d = list.data?.items.find((x) => x.provisioned === OVERVIEW_KEY);
  if (!d) return null; // no BI for this member, or no sales module: the overview stays as it is
  return (
    <Card style={{ marginTop: 16 }} data-testid="overview-dashboard"
      // Not a heading: the page's own heading is "Overview", and the steps that
      // find it by name would find "Sales overview" too.
      title={<span style={{ fontSize: 16 }}>{nameOf(d, i18n.language)}</span>}
      extra={<Link to={`/t/${tenant.slug}/dashboards/${d.id}`}>{t('open_dashboard')}</Link>}>
      <DashboardView id={d.id} compact />
    </Card>
  );
}
