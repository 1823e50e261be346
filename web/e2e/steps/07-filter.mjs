// Filter by the custom field with the filter builder: every row shown is gold,
// and the count matches the API's.
import { pick } from './03-field.mjs';

export default async function ({ page, state, shot, api, expect }) {
  await page.goto(`/t/${state.slug}/customers`);
  await page.getByTestId('add-filter').click();
  await pick(page, page.getByTestId('filter-builder').getByLabel('Field').first(), 'Tier');
  await pick(page, page.getByTestId('filter-builder').getByLabel('Value').first(), 'Gold');
  await page.getByTestId('apply-filters').click();
  const table = page.getByTestId('customer-table');
  await table.getByRole('link', { name: state.customerName }).waitFor();
  const r = await api('GET', `/t/${state.slug}/customers?custom.tier=gold&limit=200`);
  await page.getByText(`${r.body.items.length} shown`).waitFor();
  const silver = await table.getByText('silver').count();
  expect(silver === 0, `${silver} silver rows under a gold filter`);
  expect(r.body.items.length === 21, `gold customers: ${r.body.items.length} (20 imported + 张伟)`);
  await shot('07-filter');
}
