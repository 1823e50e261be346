// Analytics: the page asks a metric of the company's own records and draws it,
// in English and in Chinese; a customer made for it shows in the numbers.
export default async function ({ page, state, shot, api, expect, log }) {
  const t = `/t/${state.slug}`;
  const made = await api('POST', `${t}/customers`, { name: 'Analytics 分析', lifecycle: 'customer' });
  expect(made.status === 201, `a customer for the numbers: ${made.status}`);
  await page.goto(`${t}/analytics`);
  await page.getByTestId('bi-answer').waitFor({ timeout: 30_000 });
  await page.locator('[data-testid="bi-answer"] canvas').first().waitFor({ timeout: 30_000 });
  await shot('bi-analytics-en');
  const me = await page.evaluate(async () => (await (await fetch('/api/v1/me')).json()).identity.id);
  const setLang = (lang) => page.evaluate(([lang, id]) => {
    localStorage.setItem('clientele.lang', lang);
    localStorage.setItem(`clientele.lang.${id}`, lang);
  }, [lang, me]);
  await setLang('zh');
  await page.reload();
  await page.getByText('数据分析').first().waitFor({ timeout: 30_000 });
  await page.locator('[data-testid="bi-answer"] canvas').first().waitFor({ timeout: 30_000 });
  await shot('bi-analytics-zh');
  await setLang('en');
  log('analytics drawn in both languages');
}
