// Another company (its own owner, its own customer) exists. Signed in as the
// first company's owner, its URLs give the not-found page and none of its data.
export default async function ({ page, baseURL, state, shot, api, expect }) {
  const other = await registerByAPI(baseURL, `rival+${Date.now()}@globex.example`, 'another-long-password-7');
  const h = { 'X-Session-Token': other, 'Content-Type': 'application/json', Accept: 'application/json' };
  const slug = 'globex';
  const secretCompany = 'Globex Secret 环球机密';
  const secretCustomer = 'Hidden Customer 隐藏客户';
  let r = await fetch(`${baseURL}/api/v1/tenants`, { method: 'POST', headers: h, body: JSON.stringify({ name: secretCompany, slug }) });
  expect(r.status === 201, `create the other company: ${r.status} ${r.status === 201 ? '' : await r.text()}`);
  r = await fetch(`${baseURL}/api/v1/t/${slug}/customers`, { method: 'POST', headers: h, body: JSON.stringify({ name: secretCustomer }) });
  const created = await r.text();
  expect(r.status === 201, `create the other company's customer: ${r.status} ${created}`);
  const customerId = JSON.parse(created).id;

  // Sign in again (step 10 logged out) through the login form.
  await page.goto(`/t/${state.slug}`);
  await page.waitForURL(/\/login/);
  const form = page.getByTestId('login-form');
  await form.getByLabel('Email').fill(state.email);
  await form.getByLabel('Password').fill('wrong-password-here');
  await form.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText(/credentials are invalid/i).waitFor();
  await form.getByLabel('Password').fill(state.password);
  await form.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(new RegExp(`/t/${state.slug}$`));
  await page.getByTestId('overview').waitFor();

  // A few more customers across the stages, so the overview's charts have a shape.
  const stages = ['lead', 'lead', 'lead', 'prospect', 'prospect', 'customer', 'customer', 'customer', 'customer', 'at_risk', 'churned'];
  for (const [i, lifecycle] of stages.entries()) {
    const c = await api('POST', `/t/${state.slug}/customers`, { name: `Overview Demo ${i + 1} 演示客户`, lifecycle });
    expect(c.status === 201, `create a demo customer: ${c.status} ${JSON.stringify(c.body).slice(0, 200)}`);
  }
  await page.reload();
  await page.getByTestId('overview').locator('canvas').first().waitFor();
  await page.waitForTimeout(800); // the charts' entry animation
  await shot('12-overview');

  for (const path of [`/t/${slug}`, `/t/${slug}/customers`, `/t/${slug}/customers/${customerId}`, `/t/${slug}/settings`, `/t/${slug}/members`]) {
    await page.goto(path);
    await page.getByTestId('not-found').waitFor();
    await page.waitForLoadState('networkidle');
    const text = await page.locator('body').innerText();
    expect(!text.includes('Globex') && !text.includes('环球') && !text.includes('Hidden Customer') && !text.includes('隐藏客户'), `${path} rendered the other company's data`);
    if (path === `/t/${slug}/customers`) await shot('11-cross-tenant');
  }
  for (const path of [`/t/${slug}/customers`, `/t/${slug}/customers/${customerId}`, `/t/${slug}/settings`]) {
    const res = await api('GET', path);
    expect(res.status === 404, `GET ${path} from the first company's session answers ${res.status}, want 404`);
    expect(!JSON.stringify(res.body).includes('Hidden'), `GET ${path} leaked the other company's data`);
  }
}

/** registerByAPI signs a person up through Kratos's API flow (no cookies, no Origin). */
async function registerByAPI(baseURL, email, password) {
  const flow = await (await fetch(`${baseURL}/kratos/self-service/registration/api`, { headers: { Accept: 'application/json' } })).json();
  const r = await fetch(`${baseURL}/kratos/self-service/registration?flow=${flow.id}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify({ method: 'password', password, traits: { email, name: 'Rival' } }),
  });
  const body = await r.json();
  if (!body.session_token) throw new Error(`API registration failed: ${r.status} ${JSON.stringify(body).slice(0, 300)}`);
  return body.session_token;
}
