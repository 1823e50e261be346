// Stored XSS (issue 23): markup and script payloads saved in every kind of text
// the app shows (a customer's name, source, tags and timeline, a deal's title, a
// ticket's subject, description and conversation, a task's title and notes) are
// rendered as text on every screen that shows them, in Chromium: no script
// runs, no dialog opens, and the payload is visible as written. The XML and CSV
// outputs of the customer list escape it too.
const MARK = 'XSS-7c1f';
const payloads = [
  `<img src=x onerror="window.__xss=(window.__xss||0)+1">${MARK}`,
  `<script>window.__xss=(window.__xss||0)+1</script>${MARK}`,
  `"><svg onload="window.__xss=(window.__xss||0)+1">${MARK}`,
];

export default async function ({ page, state, api, expect, log }) {
  await page.context().setOffline(false);
  await page.setViewportSize({ width: 1440, height: 900 });
  const t = `/t/${state.slug}`;
  const dialogs = [];
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  const [p0, p1, p2] = payloads;
  let r = await api('POST', `${t}/customers`, { name: p0, source: p1, tags: ['xss-tag'] });
  expect(r.status === 201, `customer: ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
  const customer = r.body.id;
  r = await api('POST', `${t}/customers/${customer}/interactions`, { kind: 'note', summary: p1, body: p2 });
  expect(r.status === 201, `timeline note: ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
  r = await api('POST', `${t}/deals`, { title: p2, customer_id: customer, amount: '100.00' });
  expect(r.status === 201, `deal: ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
  const me = (await api('GET', '/api/v1/me')).body.identity.id;
  r = await api('POST', `${t}/tickets`, { subject: p0, description: p1, requester_id: customer, channel: 'web_form', assignee_id: me });
  expect(r.status === 201, `ticket: ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
  const ticket = r.body.id;
  r = await api('POST', `${t}/tickets/${ticket}/messages`, { kind: 'note', body: p2 });
  expect(r.status === 201, `ticket note: ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
  r = await api('POST', `${t}/tasks`, { title: p1, notes: p0, customer_id: customer });
  expect(r.status === 201, `task: ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);

  const screens = [
    ['customer list', `${t}/customers?q=${MARK}`],
    ['customer', `${t}/customers/${customer}`],
    ['deals board', `${t}/deals`],
    ['ticket list', `${t}/tickets`],
    ['ticket', `${t}/tickets/${ticket}`],
    ['tasks', `${t}/tasks`],
  ];
  for (const [name, url] of screens) {
    await page.goto(url);
    await page.getByText(MARK).first().waitFor({ timeout: 20_000 }).catch(() => {
      throw new Error(`${name}: the saved text is not shown at ${url}`);
    });
    await page.waitForTimeout(300); // an image error fires after the render
    const found = await page.evaluate(([mark]) => ({
      xss: window.__xss ?? 0,
      // The payload shows as characters, not as elements.
      literal: document.body.innerText.includes('<img src=x') || document.body.innerText.includes('<script>') || document.body.innerText.includes('<svg onload'),
      injected: document.querySelectorAll('img[src="x"], svg[onload], script:not([src]):not([type])').length,
      mark: document.body.innerText.includes(mark),
    }), [MARK]);
    expect(found.xss === 0 && dialogs.length === 0, `${name}: a stored payload ran (${found.xss} times, dialogs ${dialogs.join(' | ')})`);
    expect(found.injected === 0, `${name}: ${found.injected} elements came from stored text`);
    expect(found.literal && found.mark, `${name}: the payload is not shown as written`);
    log(`${name}: shown as text, nothing ran`);
  }

  // The list's XML and CSV outputs, as a client downloads them.
  const out = await page.evaluate(async ([path, mark]) => {
    const get = async (accept) => (await fetch(`/api/v1${path}/customers?q=${mark}`, { headers: { Accept: accept } })).text();
    return { xml: await get('application/xml'), csv: await get('text/csv') };
  }, [t, MARK]);
  expect(out.xml.includes(MARK) && !out.xml.includes('<img src=x') && out.xml.includes('&lt;img src=x'), `XML output: ${out.xml.slice(0, 300)}`);
  expect(out.csv.includes(MARK) && out.csv.includes('<img src=x'), `CSV output: ${out.csv.slice(0, 300)}`);
  log('the XML output escapes the markup; the CSV keeps it as data');
}
