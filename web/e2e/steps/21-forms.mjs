// Web-to-lead forms (issue 22): an admin builds a form in the app (fields,
// consent in both languages, a task for new leads), sees it in the live
// preview, copies the snippet; a visitor, in a browser of their own without
// the session, fills the hosted page with UTM parameters in its address; the
// admin then sees the lead, its timeline entry with the source and campaign,
// its task, and the submission with its consent. Screenshots of the builder,
// the hosted page and the submissions in both languages; axe judges them.
import { createServer } from 'node:http';
import { axeCheck, noSideScroll } from '../a11y.mjs';

export default async function ({ page, baseURL, state, shot, api, expect, log }) {
  const t = `/t/${state.slug}`;
  await page.context().setOffline(false);
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.goto(t);
  const me = await page.evaluate(async () => (await (await fetch('/api/v1/me')).json()).identity.id);
  const setLang = (lang) => page.evaluate(([lang, id]) => {
    localStorage.setItem('clientele.lang', lang);
    localStorage.setItem(`clientele.lang.${id}`, lang);
  }, [lang, me]);
  await setLang('en');
  const email = `lead.${Date.now()}@example.com`;
  const outside = await page.context().browser().newContext({ baseURL, viewport: { width: 1440, height: 900 }, locale: 'en-US', timezoneId: 'Asia/Shanghai' });
  try {
    // Build the form: the default fields (name, email, phone, message), a
    // title, consent in both languages; a task for each lead is on by default.
    await page.goto(`${t}/lead-forms`);
    await page.getByTestId('lead-forms-page').waitFor();
    await page.getByTestId('lead-form-create').click();
    await page.getByTestId('lead-form-builder').waitFor();
    await page.getByTestId('lead-form-name').fill('Website trial');
    await page.getByTestId('lead-form-title-en').fill('Ask for a free trial');
    await page.getByTestId('lead-form-title-zh').fill('申请免费试用');
    await page.getByTestId('lead-form-consent').click();
    await page.getByTestId('lead-form-consent-en').fill('I agree that we may contact me about the trial.');
    await page.getByTestId('lead-form-consent-zh').fill('我同意贵公司就试用事宜与我联系。');
    const preview = page.getByTestId('lead-form-preview');
    await preview.getByText('Ask for a free trial').waitFor();
    await preview.getByText('I agree that we may contact me about the trial.').waitFor();
    expect(await preview.getByText('Email').count() > 0, 'the preview shows the email field');
    await page.locator('.ant-drawer-body').evaluate((e) => e.scrollTo(0, 0));
    await shot('forms-builder-en');
    await axeCheck(page, 'lead form builder (en)', log);
    await page.getByTestId('lead-form-save').click();
    const hosted = page.getByTestId('lead-form-hosted');
    await hosted.waitFor({ timeout: 10_000 });
    const url = await hosted.inputValue();
    const snippet = await page.getByTestId('lead-form-snippet').inputValue();
    expect(url.includes(`/lead-form/${state.slug}/lf_`) && snippet.includes(url) && snippet.includes('<iframe'), `hosted ${url}, snippet ${snippet.slice(0, 120)}`);
    await page.waitForTimeout(600); // the dialog's opening animation
    await shot('forms-snippet-en');
    await page.keyboard.press('Escape');
    log(`form built; hosted at ${new URL(url).pathname}`);

    // The snippet works in another site (a page this step serves on another
    // origin): it frames the hosted form, which frame-ancestors allows, and
    // passes on its own address.
    const html = `<!doctype html><html lang="en"><head><title>Shop</title></head><body><h1>Our shop</h1>${snippet.replaceAll(new URL(url).origin, baseURL)}</body></html>`;
    const server = createServer((req, res) => res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(html));
    await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
    try {
      const site = await outside.newPage();
      await site.goto(`http://127.0.0.1:${server.address().port}/pricing?utm_source=site`);
      const framed = site.frameLocator('iframe').first();
      await framed.getByTestId('lead-form').waitFor({ timeout: 15_000 });
      const src = await site.locator('iframe').first().getAttribute('src');
      expect(src.includes('utm_source=site') && src.includes(encodeURIComponent(`/pricing`)), `the framed form's address: ${src}`);
      log('the snippet frames the hosted form in another site, passing on its address and UTM');
      await site.close();
    } finally {
      server.close();
    }

    // The visitor: no session; the address carries the campaign and the page
    // the snippet was on.
    const visitor = await outside.newPage();
    const path = new URL(url).pathname;
    await visitor.goto(`${path}?utm_source=newsletter&utm_medium=email&utm_campaign=spring-launch&source=${encodeURIComponent('https://shop.example.com/pricing')}`);
    await visitor.getByTestId('lead-form').waitFor();
    await visitor.getByTestId('lead-field-name').fill('Zhao Lei 赵磊');
    await visitor.getByTestId('lead-field-email').fill(email);
    await visitor.getByTestId('lead-field-message').fill('We need 25 seats for our sales team.');
    // Sending without consent is refused in the page.
    await visitor.getByTestId('lead-send').click();
    await visitor.getByText('Tick the box to send the form').waitFor();
    await visitor.getByTestId('lead-consent').check();
    await shot('forms-hosted-en', visitor);
    await axeCheck(visitor, 'hosted lead form (en)', log);
    await visitor.getByTestId('lead-send').click();
    await visitor.getByTestId('lead-form-thanks').waitFor({ timeout: 10_000 });
    log('the visitor sent the hosted form');
    const zhPage = await outside.newPage();
    await zhPage.goto(`${path}?lang=zh-CN`);
    await zhPage.getByText('申请免费试用').first().waitFor();
    await zhPage.getByText('我同意贵公司就试用事宜与我联系。').waitFor();
    await shot('forms-hosted-zh', zhPage);
    await axeCheck(zhPage, 'hosted lead form (zh)', log);
    await zhPage.setViewportSize({ width: 390, height: 844 });
    await noSideScroll(zhPage, 'hosted lead form (zh, 390×844)');

    // The lead, its timeline entry and its task.
    let r = await api('GET', `${t}/customers?q=${encodeURIComponent(email)}`);
    expect(r.status === 200 && r.body.items.length === 1, `the lead by email: ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
    const lead = r.body.items[0];
    expect(lead.lifecycle === 'lead' && lead.source === 'web_form' && lead.owner_id === me, `the lead: ${JSON.stringify(lead).slice(0, 300)}`);
    await page.goto(`${t}/customers/${lead.id}`);
    await page.getByTestId('customer-name').waitFor();
    const entry = page.getByTestId('interaction').filter({ hasText: 'Web form: Website trial' });
    await entry.waitFor({ timeout: 10_000 });
    const text = await entry.textContent();
    for (const want of ['utm_source: newsletter', 'utm_campaign: spring-launch', 'https://shop.example.com/pricing', 'We need 25 seats']) {
      expect(text.includes(want), `the timeline entry lacks ${want}: ${text.slice(0, 300)}`);
    }
    await page.getByText('Follow up web form lead: Zhao Lei 赵磊').first().waitFor({ timeout: 10_000 });
    await shot('forms-lead-en');
    log('the lead has its timeline entry (source, UTM, message) and its follow-up task');

    // The submission, with the consent text and time.
    await page.goto(`${t}/lead-forms`);
    await page.getByTestId('lead-form-submissions').first().click();
    const table = page.getByTestId('lead-form-submissions-table');
    await table.getByText('utm_campaign=spring-launch').waitFor();
    await table.getByText('I agree that we may contact me about the trial.').waitFor();
    await shot('forms-submissions-en');
    await axeCheck(page, 'lead form submissions (en)', log);
    await page.keyboard.press('Escape');

    await setLang('zh');
    await page.reload();
    await page.getByText('获客表单').first().waitFor();
    await page.getByTestId('lead-form-edit').first().click();
    await page.getByTestId('lead-form-preview').getByText('申请免费试用').first().waitFor().catch(async () => {
      // The preview follows the app's language; switch it when it did not.
      await page.getByTestId('lead-form-preview').getByText('中文').click();
      await page.getByTestId('lead-form-preview').getByText('申请免费试用').first().waitFor();
    });
    await shot('forms-builder-zh');
    await axeCheck(page, 'lead form builder (zh)', log);
  } finally {
    await outside.close();
    await setLang('en');
    await page.setViewportSize({ width: 1440, height: 900 });
  }
}
