// Service tickets (issue 17): a customer, in a browser of their own without the
// session, sends a complaint through the company's hosted form and is told the
// ticket's number (and mailed it). The ticket arrives in the signed-in inbox;
// the agent replies (the reply reaches the customer's mailbox) and solves it;
// the customer opens the survey link from the solved mail, rates the service,
// and the rating shows on the ticket. Screenshots of the form, the inbox and
// the ticket in both languages (the form follows the company's language, the
// app the user's); axe judges the inbox and the ticket in both.
import { axeCheck, noSideScroll } from '../a11y.mjs';

export default async function ({ page, baseURL, state, shot, api, expect, log, mail }) {
  const t = `/t/${state.slug}`;
  await page.context().setOffline(false);
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.goto(t);
  const me = await page.evaluate(async () => (await (await fetch('/api/v1/me')).json()).identity.id);
  const setLang = (lang) => page.evaluate(([lang, id]) => {
    localStorage.setItem('clientele.lang', lang);
    localStorage.setItem(`clientele.lang.${id}`, lang);
  }, [lang, me]);
  const setLocale = async (locale) => {
    const r = await api('PATCH', `${t}/settings`, { locale });
    expect(r.status === 200 && r.body.locale === locale, `the company's language ${locale}: ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
  };
  await setLang('en');
  await setLocale('en');
  // Web-form tickets answer within an hour and are solved within a day, on the clock.
  let r = await api('POST', `${t}/sla-policies`, { name: 'Web form', channels: ['web_form'], first_response_minutes: 60, resolution_minutes: 1440 });
  expect(r.status === 201, `create an SLA policy: ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);

  // The customer's browser: no cookies, no session.
  const outside = await page.context().browser().newContext({ baseURL, viewport: { width: 1440, height: 900 }, locale: 'en-US', timezoneId: 'Asia/Shanghai' });
  try {
    const pub = await outside.newPage();
    pub.setDefaultTimeout(20_000);
    const who = 'wang.fang@example.com';
    const subject = 'Parcel arrived damaged';
    await pub.goto(`/form/${state.slug}`);
    await pub.getByText(`${state.tenantName} · Contact us`).waitFor();
    await pub.getByTestId('form-type').click();
    await pub.getByTitle('Complaint').click();
    await pub.locator('.ant-select-dropdown').waitFor({ state: 'hidden' });
    await pub.getByTestId('form-subject').fill(subject);
    await pub.getByTestId('form-message').fill('The box was crushed and two cups are broken. 箱子被压坏了，两个杯子碎了。');
    await pub.getByTestId('form-name').fill('Wang Fang 王芳');
    await pub.getByTestId('form-email').fill(who);
    // A photo of the damage goes with the form.
    const png = Buffer.concat([Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'), Buffer.alloc(64)]);
    await pub.locator('input[type=file]').setInputFiles({ name: 'damage.png', mimeType: 'image/png', buffer: png });
    await pub.getByText('damage.png').waitFor();
    await pub.mouse.move(0, 0);
    await pub.waitForTimeout(300); // the hover outline fades
    await shot('tickets-form-en', pub);
    await axeCheck(pub, 'ticket form (en)', log);
    let since = Date.now();
    await pub.getByTestId('form-send').click();
    const receipt = pub.getByTestId('form-receipt');
    await receipt.waitFor();
    const number = Number(/#(\d+)/.exec(await receipt.textContent())?.[1]);
    expect(number >= 1001, `the receipt names the ticket's number: ${await receipt.textContent()}`);
    const confirm = await mail(who, new RegExp(`#${number}\\b`), since);
    log(`form sent: ticket #${number}, confirmation mailed`);
    expect(confirm.includes(subject), `the confirmation mail names the request: ${confirm.slice(-400)}`);

    // The signed-in inbox: the new ticket, from the web form, unassigned.
    await page.goto(`${t}/tickets`);
    await page.getByText('All', { exact: true }).click();
    const row = page.getByRole('row').filter({ hasText: subject });
    await row.waitFor();
    expect((await row.textContent()).includes(`#${number}`), `the inbox row: ${await row.textContent()}`);
    // The first-response target counts down in the inbox.
    const badge = await row.getByTestId('sla-badge').textContent();
    expect(/^Reply · (59m|1h 00m) left$/.test(badge.trim()), `the inbox's SLA badge: ${badge}`);
    await shot('tickets-inbox-en');
    await axeCheck(page, 'tickets inbox (en)', log);

    // The ticket: a public reply reaches the customer's mailbox.
    await row.getByRole('link', { name: subject }).click();
    await page.getByTestId('ticket-subject').getByText(subject).waitFor();
    expect(/Web form/.test(await page.locator('main').textContent()), 'the ticket came in by the web form');
    // The form's photo shows under the description, as a download.
    await page.locator('[data-testid=attachments] a', { hasText: 'damage.png' }).waitFor();
    const reply = 'We are sorry about the cups. A replacement is on its way. 我们已为您补发。';
    await page.getByTestId('message-body').fill(reply);
    await page.locator('input[type=file]').setInputFiles({ name: '运单 label.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n') });
    since = Date.now();
    await page.getByTestId('send-message').click();
    await page.getByText(reply).waitFor();
    // The reply's file is in the thread; it downloads as an attachment.
    const file = page.locator('[data-testid=attachments] a', { hasText: '运单 label.pdf' });
    await file.waitFor();
    const got = await page.request.get(await file.getAttribute('href'));
    expect(got.status() === 200 && got.headers()['content-type'] === 'application/pdf' && got.headers()['content-disposition'].startsWith('attachment;'),
      `the reply's file downloads: ${got.status()} ${JSON.stringify(got.headers())}`);
    log('files: the photo from the form and the PDF of the reply are on the ticket');
    const replied = await mail(who, new RegExp(`\\[#${number}\\]`), since);
    expect(replied.includes('A replacement is on its way') && replied.includes('我们已为您补发'), `the reply mail holds the reply: ${replied.slice(-500)}`);
    await page.getByText('Emailed').first().waitFor({ timeout: 15_000 });
    log('reply mailed to the requester');

    // Solved: the requester is asked to rate the service, once, by a link.
    since = Date.now();
    await page.getByTestId('status-solved').click();
    await page.locator('main .ant-tag').filter({ hasText: 'Solved' }).first().waitFor();
    const survey = await mail(who, new RegExp(`How did we do\\? Ticket #${number}`), since);
    const link = /(https?:\/\/\S+\/csat\/\S+)/.exec(survey)?.[1];
    expect(link && link.startsWith(`${baseURL}/csat/${state.slug}/`), `the survey mail holds the company's survey link: ${survey.slice(-500)}`);
    await pub.goto(link);
    await pub.getByText(`#${number}`).first().waitFor();
    await pub.getByTestId('csat-rate').locator('.ant-rate-star').nth(3).click();
    await pub.getByTestId('csat-comment').fill('Quick and kind. 处理得很快。');
    await pub.mouse.move(0, 0);
    await pub.waitForTimeout(300); // the star's tooltip fades
    await shot('tickets-csat-en', pub);
    await axeCheck(pub, 'satisfaction survey (en)', log);
    await pub.getByTestId('csat-send').click();
    await pub.getByText('Thank you for your rating!').waitFor();
    // The link works once.
    await pub.reload();
    await pub.getByTestId('csat-done').waitFor();
    log('rated 4 of 5 from the mailed link; the link is spent');

    // The rating shows on the ticket.
    await page.reload();
    const rating = page.getByTestId('csat-rating');
    await rating.waitFor();
    const shown = await rating.textContent();
    expect(shown.includes('Satisfied') && shown.includes('Quick and kind'), `the rating on the ticket: ${shown}`);
    const ticketURL = page.url();
    const id = ticketURL.split('/').pop();
    r = await api('GET', `${t}/tickets/${id}`);
    expect(r.status === 200 && r.body.csat_rating === 4 && r.body.status === 'solved' && r.body.channel === 'web_form',
      `the API's ticket: ${JSON.stringify(r.body).slice(0, 300)}`);
    await page.mouse.move(0, 0);
    await shot('tickets-ticket-en');
    await axeCheck(page, 'ticket (en)', log);

    // The same in Chinese: the form in the company's language, the app in the user's.
    await setLocale('zh-CN');
    const pubZh = await outside.newPage();
    await pubZh.goto(`/form/${state.slug}`);
    await pubZh.getByText(`${state.tenantName} · 联系我们`).waitFor();
    await pubZh.getByTestId('form-subject').fill('发票抬头需要更改');
    await pubZh.getByTestId('form-name').fill('李雷');
    await pubZh.getByTestId('form-phone').fill('+86 138 0013 8000');
    await pubZh.getByTestId('form-message').fill('请把发票抬头改为顶点贸易（上海）有限公司。');
    await shot('tickets-form-zh', pubZh);
    await pubZh.getByTestId('form-send').click();
    const receiptZh = await pubZh.getByTestId('form-receipt').textContent();
    expect(receiptZh.includes(`工单 #${number + 1}`), `the Chinese receipt: ${receiptZh}`);
    await setLang('zh');
    await page.goto(`${t}/tickets`);
    await page.getByText('全部', { exact: true }).click();
    await page.getByRole('row').filter({ hasText: '发票抬头需要更改' }).getByText('新建').waitFor();
    await shot('tickets-inbox-zh');
    await axeCheck(page, 'tickets inbox (zh)', log);
    await page.goto(ticketURL);
    await page.getByTestId('csat-rating').getByText('满意').waitFor();
    await page.mouse.move(0, 0);
    await shot('tickets-ticket-zh');
    await axeCheck(page, 'ticket (zh)', log);
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForTimeout(250);
    await noSideScroll(page, 'ticket (zh, 390×844)');
  } finally {
    await setLang('en');
    await setLocale('en').catch(() => {});
    await page.setViewportSize({ width: 1440, height: 900 });
    await outside.close();
  }
}
