// Create a company with the wizard: name and web address, then time zone,
// language and currency; the overview of the new company opens.
export default async function ({ page, state, shot, api, expect }) {
  state.tenantName = 'Acme Trading 顶点贸易';
  state.slug = 'acme';
  const form = page.getByTestId('company-form');
  // An invalid web address is refused next to its field before anything is sent.
  await form.getByLabel('Company name').fill(state.tenantName);
  expect((await form.getByLabel('Web address').inputValue()) === 'acme-trading', 'the web address is proposed from the name');
  await form.getByLabel('Web address').fill('Acme Trading!');
  await page.getByTestId('create-company').click();
  await form.getByText('Use lowercase letters, digits and hyphens only').waitFor();
  await form.getByLabel('Web address').fill(state.slug);
  await form.getByText('Use lowercase letters, digits and hyphens only').waitFor({ state: 'detached' });
  await shot('02-company-wizard');
  await page.getByTestId('create-company').click();

  const prefs = page.getByTestId('prefs-form');
  await prefs.waitFor();
  await pick(page, prefs.getByLabel('Time zone'), 'Asia/Shanghai');
  await pick(page, prefs.getByLabel('Currency'), 'CNY');
  await page.getByTestId('finish-company').click();
  await page.waitForURL(new RegExp(`/t/${state.slug}$`));
  await page.getByTestId('overview').waitFor();

  const s = await api('GET', `/t/${state.slug}/settings`);
  expect(s.status === 200, `settings: ${s.status}`);
  expect(s.body.time_zone === 'Asia/Shanghai' && s.body.currency === 'CNY' && s.body.name === state.tenantName, `settings saved: ${JSON.stringify(s.body)}`);
  const me = await api('GET', '/me');
  expect(me.body.memberships.some((m) => m.slug === state.slug && m.role === 'owner'), 'the creator owns the company');
}

/** pick chooses an option of an antd Select by typing to filter it. */
async function pick(page, select, text) {
  await select.click();
  await select.fill(text);
  await page.locator('.ant-select-dropdown:visible .ant-select-item-option').filter({ hasText: text }).first().click();
}
