// Search by one Chinese character: 张 finds 张伟, and every row shown holds 张.
export default async function ({ page, state, shot, expect }) {
  await page.goto(`/t/${state.slug}/customers`);
  const box = page.getByTestId('customer-search').getByRole('searchbox').or(page.getByLabel('Search customers')).first();
  await box.fill('张');
  const searched = page.waitForResponse((r) => r.url().includes('/customers?') && new URL(r.url()).searchParams.get('q') === '张');
  await box.press('Enter');
  await searched;
  const table = page.getByTestId('customer-table');
  await table.getByRole('link', { name: state.customerName }).waitFor();
  // The list keeps the previous rows on screen until the new ones render.
  let names = [];
  for (const t0 = Date.now(); Date.now() - t0 < 10_000; await page.waitForTimeout(200)) {
    names = await table.locator('tbody tr td a').allTextContents();
    if (names.length >= 1 && names.every((n) => n.includes('张'))) break;
  }
  expect(names.length >= 1 && names.every((n) => n.includes('张')), `every result holds 张: ${names.join(', ')}`);
  expect(new URL(page.url()).searchParams.get('q') === '张', `the search is in the address: ${page.url()}`);
  await shot('06-search');
}
