// Closing a company (issue 23): the owner makes a second company, closes it from
// its settings by typing its web address, lands on the company list where it is
// listed as closing with the day its data goes, and reopens it. The first
// company is not touched. Screenshots of the confirmation and the list in both
// languages; axe judges the list.
import { axeCheck } from '../a11y.mjs';

export default async function ({ page, state, shot, api, expect, log }) {
  await page.context().setOffline(false);
  await page.setViewportSize({ width: 1440, height: 900 });
  const slug = `${state.slug}-old`.slice(0, 40).replace(/-+$/, '');
  const made = await api('POST', '/api/v1/tenants', { name: 'Old Branch 旧分公司', slug });
  expect(made.status === 201, `create the company to close: ${made.status} ${JSON.stringify(made.body)}`);
  const me = await page.evaluate(async () => (await (await fetch('/api/v1/me')).json()).identity.id);
  const setLang = (lang) => page.evaluate(([lang, id]) => {
    localStorage.setItem('clientele.lang', lang);
    localStorage.setItem(`clientele.lang.${id}`, lang);
  }, [lang, me]);

  for (const lang of ['zh', 'en']) {
    await setLang(lang);
    await page.goto(`/t/${slug}/settings`);
    await page.getByTestId('close-company').click();
    const confirm = page.getByTestId('close-company-confirm');
    expect(await confirm.isDisabled(), 'the close button is enabled before the address is typed');
    await page.getByTestId('close-company-slug').fill(slug);
    await page.waitForFunction(() => !document.querySelector('[data-testid=close-company-confirm]')?.disabled);
    await page.waitForTimeout(300); // the button's colour transition
    await shot(`close-company-confirm-${lang}`);
    if (lang === 'zh') {
      await page.keyboard.press('Escape');
      await page.getByTestId('close-company-slug').waitFor({ state: 'detached' });
      continue;
    }
    await confirm.click();
    await page.waitForURL('**/welcome');
  }
  const closed = await api('GET', `/t/${slug}/customers?limit=1`);
  expect(closed.status === 404, `the closed company still answers: ${closed.status}`);
  const first = await api('GET', `/t/${state.slug}/customers?limit=1`);
  expect(first.status === 200, `the first company stopped answering: ${first.status}`);

  for (const lang of ['en', 'zh']) {
    await setLang(lang);
    await page.goto('/welcome');
    const list = page.getByTestId('closing-companies');
    await list.waitFor();
    expect((await list.textContent()).includes('Old Branch'), 'the closing company is not listed');
    await shot(`close-company-list-${lang}`);
    await axeCheck(page, `closing companies (${lang})`);
  }
  await page.getByTestId(`reopen-${slug}`).click();
  await page.waitForURL(`**/t/${slug}`);
  const back = await api('GET', `/t/${slug}/customers?limit=1`);
  expect(back.status === 200, `the reopened company does not answer: ${back.status}`);
  await setLang('en');
  await page.goto(`/t/${state.slug}`);
  log(`closed ${slug} from its settings, saw it listed as closing, reopened it`);
}
