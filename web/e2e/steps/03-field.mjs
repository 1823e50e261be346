// Define a select custom field in the admin: labels in both languages, options
// with their own labels, filterable and sortable; the live preview shows it, and
// it is stored as typed.
export default async function ({ page, state, shot, api, expect }) {
  await page.goto(`/t/${state.slug}/fields`);
  await page.getByRole('heading', { name: 'Custom fields' }).waitFor();
  await page.getByTestId('add-field').click();
  const form = page.getByTestId('field-form');
  await form.getByLabel('Label (English)').fill('Tier');
  await form.getByLabel('Label (Chinese)').fill('等级');
  // The key follows the English label until it is edited.
  const key = await form.getByLabel('Key').inputValue();
  expect(key === 'tier', `the key derived from the label: ${key}`);
  await pick(page, form.getByLabel('Type'), 'Single choice');
  const options = [['gold', 'Gold', '金牌'], ['silver', 'Silver', '银牌'], ['bronze', 'Bronze', '铜牌']];
  for (const [i, [value, en, zh]] of options.entries()) {
    await form.getByTestId('add-option').click();
    await form.getByLabel(`Value ${i + 1}`, { exact: true }).fill(value);
    await form.getByLabel(`English ${i + 1}`, { exact: true }).fill(en);
    await form.getByLabel(`Chinese ${i + 1}`, { exact: true }).fill(zh);
  }
  await form.getByRole('checkbox', { name: /Sortable/ }).check();
  // The preview offers the options as the customer form will.
  const preview = page.getByTestId('field-preview');
  await pick(page, preview.getByRole('combobox'), 'Silver');
  await shot('03-field-editor');
  await page.getByTestId('save-field').click();
  await page.getByTestId('fields-table').getByRole('button', { name: 'Tier', exact: true }).waitFor();
  await page.getByTestId('form-preview').getByText('Tier', { exact: true }).waitFor();
  await shot('03-fields');
  const r = await api('GET', `/t/${state.slug}/fields/customers`);
  const f = r.body.items?.find((x) => x.key === 'tier');
  expect(
    f && f.type === 'select' && f.filterable && f.sortable && f.options.length === 3 && f.label_zh === '等级' && f.options[0].label_zh === '金牌',
    `the field as stored: ${JSON.stringify(f)}`,
  );
  state.fieldKey = 'tier';
}

export async function pick(page, select, text) {
  await select.click();
  if (await select.isEditable()) await select.fill(text);
  await page.locator('.ant-select-dropdown:visible .ant-select-item-option').filter({ hasText: new RegExp(`^${text}$`) }).first().click();
}
