// Webhooks (issue 22): an admin adds a webhook in the app for a receiver this
// step runs on loopback (the stack allow-lists 127.0.0.1), copies its secret,
// creates a customer, and the receiver gets customer.created signed with that
// secret. The delivery log shows it delivered; a replay sends the same event
// again. Screenshots of the list and the log in both languages; axe judges
// both pages.
import { createServer } from 'node:http';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { axeCheck, noSideScroll } from '../a11y.mjs';

function verify(header, raw, secret) {
  const parts = String(header || '').split(',').map((p) => p.trim().split('='));
  const ts = (parts.find(([k]) => k === 't') || [])[1] || '';
  if (!/^\d+$/.test(ts) || Math.abs(Date.now() / 1000 - Number(ts)) > 300) return false;
  const want = createHmac('sha256', secret).update(ts + '.').update(raw).digest();
  return parts.some(([k, v]) => k === 'v1' && /^[0-9a-f]{64}$/.test(v) && timingSafeEqual(Buffer.from(v, 'hex'), want));
}

export default async function ({ page, state, shot, api, expect, log }) {
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

  let secret = '';
  const got = [];
  const bad = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      if (!verify(req.headers['clientele-signature'], raw, secret)) {
        bad.push(req.headers['clientele-signature']);
        res.writeHead(400).end();
        return;
      }
      got.push({ event: JSON.parse(raw.toString('utf8')), delivery: req.headers['clientele-delivery-id'] });
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"received":true}');
    });
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const url = `http://127.0.0.1:${server.address().port}/hooks/clientele`;
  try {
    await page.goto(`${t}/webhooks`);
    await page.getByTestId('webhook-create').click();
    await page.getByTestId('webhook-url').fill(url);
    // The form starts with every event (*); narrow it to customer events.
    const events = page.getByTestId('webhook-events');
    await events.locator('.ant-select-selection-item-remove').first().click();
    await events.click();
    await page.getByTitle('customer.created').first().click();
    await page.keyboard.press('Escape');
    await page.getByRole('button', { name: 'Add a webhook' }).last().click();
    const secretBox = page.getByTestId('webhook-secret');
    await secretBox.waitFor({ timeout: 10_000 });
    secret = await secretBox.inputValue();
    expect(secret.startsWith('whsec_'), `the secret shown: ${secret.slice(0, 10)}`);
    await page.getByRole('button', { name: 'Done' }).click();

    let r = await api('POST', `${t}/customers`, { name: 'Webhook Demo 推送演示' });
    expect(r.status === 201, `create a customer: ${r.status}`);
    const customer = r.body.id;
    for (let i = 0; i < 100 && !got.some((g) => g.event.data.id === customer); i++) await page.waitForTimeout(200);
    const first = got.find((g) => g.event.data.id === customer);
    expect(first, `no signed customer.created reached the receiver in 20 s (bad signatures: ${bad.length})`);
    expect(first.event.type === 'customer.created' && first.event.tenant === state.slug && first.event.data.object.name === 'Webhook Demo 推送演示',
      `the envelope: ${JSON.stringify(first.event).slice(0, 300)}`);
    log(`receiver got ${first.event.type} #${first.event.sequence}, signature verified`);

    await page.getByTestId('webhook-link').first().click();
    await page.getByTestId('webhook-page').waitFor();
    await page.getByText('Delivered').first().waitFor({ timeout: 15_000 });
    await shot('webhooks-log-en');
    await axeCheck(page, 'webhook delivery log (en)', log);
    await page.getByTestId('delivery-replay').first().click();
    for (let i = 0; i < 100 && got.filter((g) => g.event.id === first.event.id).length < 2; i++) await page.waitForTimeout(200);
    const again = got.filter((g) => g.event.id === first.event.id);
    expect(again.length === 2 && again[1].delivery !== first.delivery && again[1].event.sequence === first.event.sequence,
      `the replay: ${again.length} deliveries of the event`);
    log('replay delivered the same event and sequence under a new delivery id');
    expect(bad.length === 0, `${bad.length} deliveries failed verification`);

    await page.goto(`${t}/webhooks`);
    await page.getByTestId('webhooks-page').waitFor();
    await shot('webhooks-en');
    await axeCheck(page, 'webhooks (en)', log);
    await setLang('zh');
    await page.reload();
    await page.getByText('Webhook 推送').first().waitFor();
    await shot('webhooks-zh');
    await page.getByTestId('webhook-link').first().click();
    await page.getByText('已送达').first().waitFor({ timeout: 15_000 });
    await shot('webhooks-log-zh');
    await axeCheck(page, 'webhook delivery log (zh)', log);
    await page.setViewportSize({ width: 390, height: 844 });
    await noSideScroll(page, 'webhook delivery log (zh, 390×844)');
  } finally {
    await setLang('en');
    await page.setViewportSize({ width: 1440, height: 900 });
    server.close();
  }
}
