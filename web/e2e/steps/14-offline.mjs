// Installable and offline: the manifest names the app and its icons (which load),
// the service worker takes control, and with the network gone the app still
// opens (from the cached shell) to a clear offline screen; no API response was
// ever put in a cache. Back online, the data returns.
export default async function ({ page, state, expect, log }) {
  await page.goto(`/t/${state.slug}`);
  await page.getByTestId('overview').waitFor();
  const manifest = await page.evaluate(async () => {
    const href = document.querySelector('link[rel=manifest]')?.getAttribute('href');
    const r = await fetch(href);
    return { type: r.headers.get('content-type'), body: await r.json() };
  });
  expect(manifest.type?.startsWith('application/manifest+json'), `manifest content type: ${manifest.type}`);
  const m = manifest.body;
  expect(m.name === 'Clientele' && m.display === 'standalone' && m.start_url === '/', `manifest: ${JSON.stringify(m)}`);
  for (const size of ['192x192', '512x512']) {
    const icon = m.icons.find((i) => i.sizes === size && i.type === 'image/png');
    expect(icon, `a ${size} PNG icon in the manifest`);
    const dims = await page.evaluate(async (src) => {
      const img = new Image();
      img.src = src;
      await img.decode();
      return `${img.naturalWidth}x${img.naturalHeight}`;
    }, icon.src);
    expect(dims === size, `${icon.src} is ${dims}, the manifest says ${size}`);
  }
  expect(m.icons.some((i) => i.purpose === 'maskable'), 'a maskable icon');

  // The worker controls the page once it has activated (a reload after install).
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
  });
  await page.goto(`/t/${state.slug}/tasks`);
  await page.waitForFunction(() => !!navigator.serviceWorker.controller, null, { timeout: 20_000 });

  const context = page.context();
  await context.setOffline(true);
  try {
    await page.goto(`/t/${state.slug}/customers`);
    await page.getByTestId('offline').waitFor();
    await page.getByRole('heading', { name: 'You are offline' }).waitFor();
    const body = await page.locator('body').innerText();
    expect(!body.includes(state.customerName), 'offline, no customer data is shown');
  } finally {
    await context.setOffline(false);
  }
  const cached = await page.evaluate(async () => {
    const out = [];
    for (const name of await caches.keys()) for (const req of await (await caches.open(name)).keys()) out.push(new URL(req.url).pathname);
    return out;
  });
  const data = cached.filter((u) => u.startsWith('/api/') || u.startsWith('/kratos/'));
  expect(data.length === 0, `data in the offline cache: ${data.join(', ')}`);
  expect(cached.includes('/') && cached.some((u) => u.startsWith('/assets/')), `the shell is cached: ${cached.slice(0, 8).join(', ')}`);
  log(`offline cache holds ${cached.length} shell files, no data`);

  await page.goto(`/t/${state.slug}/customers/${state.customerId}`);
  await page.getByTestId('customer-name').filter({ hasText: state.customerName }).waitFor();
}
