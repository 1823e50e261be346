// The company's first provisioned dashboard (the sales overview), shown on the
// overview page under its headline numbers, with a link to open it whole. It
// loads when it scrolls into view, so the headline paints first.
import './locales';
import { useEffect, useRef, useState } from 'react';
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
  const spot = useRef<HTMLDivElement>(null);
  const [seen, setSeen] = useState(typeof IntersectionObserver === 'undefined');
  useEffect(() => {
    if (seen || !spot.current) return;
    const io = new IntersectionObserver((es) => es.some((e) => e.isIntersecting) && setSeen(true), { rootMargin: '0px 0px -40px 0px' });
    io.observe(spot.current);
    return () => io.disconnect();
  }, [seen]);
  const list = useQuery({
    queryKey: ['tenant', tenant.slug, 'bi', 'dashboards'],
    queryFn: () => get<{ items: Dashboard[] }>(tpath(tenant.slug, '/bi/dashboards'), { limit: 200 }),
    retry: false,
    enabled: seen,
  });
  const d = list.data?.items.find((x) => x.provisioned === OVERVIEW_KEY);
  // Nothing yet, no BI for this member, or no sales module: the overview stays as it is.
  if (!d) return <div ref={spot} style={{ minHeight: 40 }} />;
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
