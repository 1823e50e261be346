// Dashboards and the report builder (issue 18): on the analytics screen the
// owner splits customers by lifecycle stage, shows them as a table, saves the
// question as a report and puts it on the provisioned customer insights
// dashboard. The dashboard runs it; a row drills down to the customer list
// filtered by that stage; the widget moves a column with the keyboard and the
// layout is saved. Back on the dashboard, each widget says how fresh it is, a
// custom range runs, and a global filter saved with the dashboard narrows its
// widgets; the owner subscribes to the dashboard from its page and to the
// report from the reports screen. Screenshots of the three provisioned
// dashboards in English and Chinese, of the filter editor, and of a dashboard
// on a phone.
const REPORT = 'Customers by stage (e2e) 各阶段客户';

export default async function ({ page, state, shot, api, expect, log }) {
  const t = `/t/${state.slug}`;
  await page.setViewportSize({ width: 1440, height: 900 });
  const made = await api('POST', `${t}/customers`, { name: 'Dashboard Drill 仪表板', lifecycle: 'customer' });
  expect(made.status === 201, `a customer for the drill-down: ${made.status}`);
  // A few more across stages and sources, so the dashboards have a shape.
  const more = [['lead', 'web'], ['lead', 'referral'], ['prospect', 'web'], ['customer', 'fair'], ['customer', 'referral'], ['at_risk', 'web']];
  for (const [i, [lifecycle, source]] of more.entries()) {
    const r = await api('POST', `${t}/customers`, { name: `Dashboard Demo ${i + 1} 演示`, lifecycle, source });
    expect(r.status === 201, `a demo customer: ${r.status} ${JSON.stringify(r.body)}`);
  }

  // Build the report.
  await page.goto(`${t}/analytics`);
  await page.getByTestId('bi-answer').waitFor({ timeout: 30_000 });
  const choose = async (label, option) => {
    await page.getByRole('combobox', { name: label, exact: true }).click();
    await page.locator('.ant-select-dropdown:visible .ant-select-item-option').filter({ hasText: new RegExp(`^${option}$`) }).first().click();
  };
  await choose('Split by', 'Lifecycle stage');
  await choose('Chart', 'Table');
  await page.locator('[data-testid="bi-answer"] .ant-table-row').first().waitFor({ timeout: 30_000 });
  await page.getByTestId('bi-save-report').click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('Report name').fill(REPORT);
  await choose('Add to dashboard', 'Customer insights');
  await page.getByTestId('bi-save-report-ok').click();
  await page.getByText('Report saved and added to Customer insights.').waitFor({ timeout: 30_000 });
  const reports = await api('GET', `${t}/bi/reports?limit=200`);
  const report = reports.body.items.find((r) => r.name === REPORT);
  expect(report && report.chart === 'table' && report.query.dimensions[0] === 'lifecycle', `the saved report: ${JSON.stringify(report)}`);
  log('report built and saved from the analytics screen');

  // The dashboard runs it.
  const dashboards = (await api('GET', `${t}/bi/dashboards?limit=200`)).body.items;
  const byKey = Object.fromEntries(dashboards.filter((d) => d.provisioned).map((d) => [d.provisioned, d]));
  expect(byKey.sales_overview && byKey.customer_insights && byKey.service, `the provisioned dashboards: ${dashboards.map((d) => d.provisioned).join(', ')}`);
  const insights = byKey.customer_insights;
  await page.goto(`${t}/dashboards`);
  await page.getByRole('link', { name: 'Customer insights' }).click();
  await page.waitForURL(new RegExp(`/dashboards/${insights.id}$`));
  const widget = page.getByTestId('bi-widget').filter({ hasText: REPORT });
  await widget.locator('.ant-table-row').filter({ hasText: /^customer/ }).first().waitFor({ timeout: 30_000 });
  await page.getByTestId('bi-as-of').waitFor();

  // Move it one column with the keyboard, and save the layout.
  const before = (await api('GET', `${t}/bi/dashboards/${insights.id}`)).body.widgets;
  const at = before.findIndex((w) => w.report_id === report.id);
  expect(at >= 0, 'the report is on the dashboard');
  await page.getByTestId('bi-edit-layout').click();
  await page.getByTestId('bi-move').nth(at).focus();
  await page.keyboard.press(before[at].x + before[at].w < 12 ? 'ArrowRight' : 'ArrowLeft');
  await page.getByTestId('bi-save-layout').click();
  await page.getByText('Layout saved.').waitFor({ timeout: 30_000 });
  const after = (await api('GET', `${t}/bi/dashboards/${insights.id}`)).body.widgets;
  expect(after[at].report_id === report.id && after[at].x !== before[at].x, `the widget moved: ${JSON.stringify(before[at])} -> ${JSON.stringify(after[at])}`);
  log('widget moved by keyboard and the layout saved');

  // Drill down from its row to the filtered list.
  await widget.locator('.ant-table-row').filter({ hasText: /^customer/ }).first().click();
  // Customers at the end of the period: the stage's, created before its end.
  await page.waitForURL(/\/customers\?lifecycle=customer&created_at%5Blt%5D=[^&]+$/, { timeout: 30_000 });
  await page.getByText('Dashboard Drill 仪表板').first().waitFor({ timeout: 30_000 });
  const end = new URL(page.url()).searchParams.get('created_at[lt]');
  expect(!Number.isNaN(Date.parse(end)), `the drill link ends at an instant: ${end}`);
  const listed = await api('GET', `${t}/customers?lifecycle=customer&created_at%5Blt%5D=${encodeURIComponent(end)}&limit=200`);
  expect(listed.status === 200 && listed.body.items.length > 0, `the drilled list answers: ${listed.status}`);
  expect(listed.body.items.every((c) => c.lifecycle === 'customer' && Date.parse(c.created_at) < Date.parse(end)),
    'the drilled list holds only customers at that stage, created before the period ends');
  log('drilled down to the customers at that stage at the end of the period');

  // Back on the dashboard: each widget says how fresh it is; a custom range runs; the owner filters every widget.
  await page.goto(`${t}/dashboards/${insights.id}`);
  await widget.locator('.ant-table-row').first().waitFor({ timeout: 30_000 });
  const fresh = await widget.getByTestId('bi-fresh').textContent();
  expect(/^(Live from records|Updated \d\d:\d\d · daily rollups)$/.test(fresh), `the widget says how fresh it is: ${fresh}`);
  const ranCustom = page.waitForRequest((r) => r.method() === 'POST' && r.url().includes('/run?') && r.url().includes('range=custom')
    && r.url().includes('from=2026-01-01') && r.url().includes('to=2026-12-31'), { timeout: 30_000 });
  await choose('Range', 'Custom');
  await page.getByLabel('From', { exact: true }).fill('2026-01-01');
  await page.getByLabel('To', { exact: true }).fill('2026-12-31');
  await ranCustom;
  log('the widget says how fresh it is; the dashboard ran for a custom range');
  await page.getByTestId('bi-edit-filters').click();
  await page.getByTestId('bi-add-filter').click();
  // By keyboard: type to search, Enter to pick.
  const dimension = page.getByRole('combobox', { name: 'Dimension', exact: true });
  await dimension.click();
  await dimension.fill('Lifecycle stage');
  await page.keyboard.press('Enter');
  await page.getByText(/applies to \d+ of \d+ widgets/).first().waitFor();
  const values = page.getByRole('combobox', { name: 'Values', exact: true });
  await values.click();
  await values.fill('customer');
  await page.keyboard.press('Enter');
  await page.getByRole('dialog').locator('.ant-select-selection-item').filter({ hasText: /^customer$/ }).waitFor();
  await page.getByRole('dialog').getByText(/^Each filter applies/).click(); // closes the values list
  await page.locator('.ant-select-dropdown:visible').first().waitFor({ state: 'hidden' });
  await shot('bi-dashboard-filters-en');
  await page.getByTestId('bi-save-filters').click();
  await page.getByText('Filters saved.').waitFor({ timeout: 30_000 });
  const filtered = (await api('GET', `${t}/bi/dashboards/${insights.id}`)).body;
  expect(JSON.stringify(filtered.filters) === JSON.stringify([{ dimension: 'lifecycle', op: 'eq', values: ['customer'] }]), `the saved filters: ${JSON.stringify(filtered.filters)}`);
  await page.getByTestId('bi-filter-tag').filter({ hasText: 'customer' }).waitFor();
  await page.waitForFunction((name) => {
    const w = [...document.querySelectorAll('[data-testid="bi-widget"]')].find((x) => x.textContent.includes(name));
    const rows = w ? [...w.querySelectorAll('.ant-table-row')] : [];
    return rows.length > 0 && rows.every((r) => /^customer/.test(r.textContent));
  }, REPORT, { timeout: 30_000 });
  log('a global filter saved with the dashboard narrows its widgets');
  // The dashboard as it was, for the screenshots.
  const { name, name_zh, range, refresh_seconds, shared_roles, widgets } = filtered;
  const restored = await api('PUT', `${t}/bi/dashboards/${insights.id}`, { name, name_zh, range: range?.preset ? range : undefined, filters: [], refresh_seconds, shared_roles, widgets });
  expect(restored.status === 200, `the filters removed: ${restored.status}`);

  // Subscribe to the dashboard from its own page.
  await page.goto(`${t}/dashboards/${insights.id}`);
  await page.getByTestId('bi-subscribe-dashboard').click();
  await page.getByTestId('bi-subscribe-ok').click();
  await page.getByText('Subscribed.').waitFor({ timeout: 30_000 });
  const dsubs = (await api('GET', `${t}/bi/subscriptions?limit=200`)).body.items;
  expect(dsubs.some((s) => s.dashboard_id === insights.id && s.frequency === 'weekly' && !s.role), `subscribed to the dashboard: ${JSON.stringify(dsubs)}`);
  log('subscribed to the dashboard from its page');

  // Subscribe to the report.
  await page.goto(`${t}/reports`);
  await choose('Report or dashboard', `Report: ${REPORT.replace(/[()]/g, '\\$&')}`);
  await page.getByTestId('bi-subscribe').getByRole('button', { name: 'Subscribe' }).click();
  await page.getByText('Subscribed.').waitFor({ timeout: 30_000 });
  const subs = (await api('GET', `${t}/bi/subscriptions?limit=200`)).body.items;
  expect(subs.some((s) => s.report_id === report.id && s.frequency === 'weekly'), `subscribed: ${JSON.stringify(subs)}`);
  log('subscribed to the report weekly');

  // The three provisioned dashboards, in both languages.
  const me = await page.evaluate(async () => (await (await fetch('/api/v1/me')).json()).identity.id);
  const setLang = (lang) => page.evaluate(([lang, id]) => {
    localStorage.setItem('clientele.lang', lang);
    localStorage.setItem(`clientele.lang.${id}`, lang);
  }, [lang, me]);
  const names = { sales_overview: 'sales', customer_insights: 'customers', service: 'service' };
  for (const lang of ['en', 'zh']) {
    await setLang(lang);
    for (const [key, short] of Object.entries(names)) {
      await page.goto(`${t}/dashboards/${byKey[key].id}`);
      await page.getByTestId('bi-as-of').waitFor({ timeout: 30_000 });
      await page.waitForFunction(() => !document.querySelector('[data-testid="bi-dashboard"] .ant-spin-spinning'), null, { timeout: 30_000 });
      await page.waitForTimeout(600); // charts animate in
      await shot(`bi-dashboard-${short}-${lang}`);
    }
  }
  // A phone (390 px wide), in Chinese: one column, the toolbar wraps.
  await setLang('zh');
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${t}/dashboards/${insights.id}`);
  await page.getByTestId('bi-as-of').waitFor({ timeout: 30_000 });
  await page.waitForFunction(() => !document.querySelector('[data-testid="bi-dashboard"] .ant-spin-spinning'), null, { timeout: 30_000 });
  await page.waitForTimeout(600);
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  expect(wide <= 390, `the dashboard fits 390 px: ${wide}`);
  await shot('bi-dashboard-phone-zh');
  await page.setViewportSize({ width: 1440, height: 900 });
  await setLang('en');
  log('screenshots of the three provisioned dashboards in both languages');
}
