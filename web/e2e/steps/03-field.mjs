// Define a select custom field in the admin: labels in both languages, options,
// filterable; it shows in the list and through the API.
export default async function ({ page, state, shot, api, expect }) {
  await page.goto(`/t/${state.slug}/fields`);
  await page.getByRole('heading', { name: 'Custom fields' }).waitFor();
  await page.getByTestId('add-field').click();
  const form = page.getByTestId('field-form');
  await form.getByLabel('Label (English)').fill('Tier');
  await form.getByLabel('Label (Chinese)').fill('等级');
  await form.getByLabel('Key').fill('tier');
  await pick(page, form.getByLabel('Type'), 'select');
  const opts = form.getByLabel('Options');
  for (const o of ['gold', 'silver', 'bronze']) {
    await opts.fill(o);
    await opts.press('Enter');
  }
  await shot('03-field-editor');
  await page.getByTestId('save-field').click();
  await page.getByRole('button', { name: 'Tier', exact: true }).waitFor();
  await shot('03-fields');
  const r = await api('GET', `/t/${state.slug}/fields/customers`);
  const f = r.body.items?.find((x) => x.key === 'tier');
  expect(f && f.type === 'select' && f.filterable && f.options.length === 3 && f.label_zh === '等级', `the field as stored: ${JSON.stringify(f)}`);
  state.fieldKey = 'tier';
}

export async function pick(page, select, text) {
  await select.click();
  if (await select.isEditable()) await select.fill(text);
  await page.locator('.ant-select-dropdown:visible .ant-select-item-option').filter({ hasText: new RegExp(`^${text}$`) }).first().click();
}
