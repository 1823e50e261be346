// Create a customer with a Chinese name and the custom field; the profile opens.
import { pick } from './03-field.mjs';

export default async function ({ page, state, shot, api, expect }) {
  state.customerName = '张伟';
  await page.goto(`/t/${state.slug}/customers`);
  await page.getByRole('heading', { name: 'Customers' }).waitFor();
  await page.getByTestId('new-customer').click();
  const form = page.getByTestId('customer-form');
  // A bad email is refused next to its field.
  await form.getByLabel('Name').fill(state.customerName);
  await form.getByLabel('Emails').fill('not-an-email');
  await page.getByTestId('save-customer').click();
  await form.getByText('not a valid email address').waitFor();
  await form.getByLabel('Emails').fill('zhang.wei@example.com');
  await form.getByLabel('Phones').fill('+86 139 1234 5678');
  await pick(page, form.getByLabel('Tier'), 'Gold');
  await page.getByTestId('save-customer').click();
  await page.getByTestId('customer-name').filter({ hasText: state.customerName }).waitFor();
  state.customerId = page.url().split('/').pop();
  await page.getByTestId('custom-values').getByText('Gold').waitFor();
  // The timeline takes a call, and a task with a due time lands beside it.
  const note = page.getByTestId('interaction-form');
  await note.getByLabel('Summary').fill('First call: wants a quote for 200 tea gift boxes');
  await note.getByLabel('Details').fill('Prefers WeChat; decides before the Spring Festival.');
  await page.getByTestId('add-interaction').click();
  await page.getByTestId('interaction').filter({ hasText: 'First call' }).waitFor();
  const task = page.getByTestId('task-form');
  await task.getByLabel('Task').fill('Send the quotation');
  await page.getByTestId('add-task').click();
  await page.getByText('Send the quotation', { exact: true }).waitFor();
  await page.getByRole('heading', { name: state.customerName }).scrollIntoViewIfNeeded();
  await shot('04-customer-profile');
  const c = await api('GET', `/t/${state.slug}/customers/${state.customerId}`);
  expect(c.status === 200 && c.body.custom.tier === 'gold' && c.body.emails[0] === 'zhang.wei@example.com', `stored: ${JSON.stringify(c.body)}`);
}
