// Search by one Chinese character: 张 finds 张伟.
export default async function ({ page, state, shot, expect }) {
  await page.goto(`/t/${state.slug}/customers`);
  const box = page.getByTestId('customer-search').getByRole('searchbox').or(page.getByLabel(/Search name/)).first();
  await box.fill('张');
  await box.press('Enter');
  const table = page.getByTestId('customer-table');
  await table.getByRole('link', { name: state.customerName }).waitFor();
  const names = await table.getByRole('link').allTextContents();
  expect(names.length >= 1 && names.every((n) => n.includes('张')), `every result holds 张: ${names.join(', ')}`);
  await shot('06-search');
}
