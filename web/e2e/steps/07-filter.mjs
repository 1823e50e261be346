// Filter by the custom field with the filter builder: every row shown is gold,
// the count matches the API's, and the filter saved as a segment counts the same.
import { pick } from './03-field.mjs';

export default async function ({ page, state, shot, api, expect }) {
  await page.goto(`/t/${state.slug}/customers`);
  await page.getByTestId('add-filter').click();
  const builder = page.getByTestId('filter-builder');
  await pick(page, builder.getByLabel('Field').first(), 'Tier');
  await pick(page, builder.getByLabel('Value').first(), 'Gold');
  await page.getByTestId('apply-filters').click();
  await page.waitForURL((u) => u.searchParams.get('custom.tier') === 'gold');
  const table = page.getByTestId('customer-table');
  await table.getByRole('link', { name: state.customerName }).waitFor();
  const r = await api('GET', `/t/${state.slug}/customers?custom.tier=gold&limit=200`);
  await page.getByText(`${r.body.items.length} shown`).waitFor();
  const silver = await table.getByText('silver').count();
  expect(silver === 0, `${silver} silver rows under a gold filter`);
  expect(r.body.items.length === 21, `gold customers: ${r.body.items.length} (20 imported + 张伟)`);
  await page.getByRole('heading', { name: 'Customers' }).scrollIntoViewIfNeeded();
  await shot('07-filter');
  // Saved as a shared segment, it lists with its live count.
  await page.getByRole('button', { name: 'Save as segment' }).click();
  await page.getByLabel('Segment name').fill('Gold customers');
  await page.getByLabel('Segment name').press('Enter');
  await page.getByTestId('segment-select').getByText('Gold customers').waitFor();
  const s = await api('GET', `/t/${state.slug}/segments`);
  const seg = s.body.items?.find((x) => x.name === 'Gold customers');
  expect(seg && seg.count === 21 && seg.query.includes('custom.tier=gold'), `the segment as stored: ${JSON.stringify(seg)}`);
}
