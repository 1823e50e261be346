// Clientele's service worker: it keeps the app's shell (index.html, the hashed
// scripts and styles it loads, the icons and the manifest) so the app opens
// without a network and says it is offline. It never stores data: /api and
// /kratos requests, and anything else not listed here, go straight to the
// network and are never cached.
const SHELL = 'clientele-shell-v1';

const isShellAsset = (url) =>
  url.origin === self.location.origin &&
  (url.pathname.startsWith('/assets/') || url.pathname.startsWith('/icons/') || url.pathname === '/manifest.webmanifest');
const neverTouch = (url) => url.origin !== self.location.origin || url.pathname.startsWith('/api/') || url.pathname.startsWith('/kratos/');

self.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(SHELL);
      const res = await fetch('/', { cache: 'no-store' });
      if (!res.ok) return;
      const html = await res.clone().text();
      await cache.put('/', res);
      // What index.html loads up front: the entry script, its preloads, styles.
      const urls = [...html.matchAll(/(?:src|href)="(\/(?:assets|icons)\/[^"]+)"/g)].map((m) => m[1]);
      await cache.addAll([...new Set([...urls, '/manifest.webmanifest'])]);
    })(),
  );
  self.skipWaiting();
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const key of await caches.keys()) if (key !== SHELL) await caches.delete(key);
      await self.clients.claim();
    })(),
  );
});

self.addEventListener('fetch', (event) => {
  const req = event.request;
  if (req.method !== 'GET') return;
  const url = new URL(req.url);
  if (neverTouch(url)) return;

  // Pages: the network first, so a deploy shows at once; the cached shell offline.
  if (req.mode === 'navigate') {
    event.respondWith(
      fetch(req)
        .then((res) => {
          if (res.ok && (res.headers.get('content-type') || '').startsWith('text/html')) {
            const copy = res.clone();
            event.waitUntil(caches.open(SHELL).then((c) => c.put('/', copy)));
          }
          return res;
        })
        .catch(() => caches.match('/').then((hit) => hit || Response.error())),
    );
    return;
  }

  // Hashed scripts and styles never change under one name: the cache first, and a
  // screen's script fetched online is kept for the next offline start. (A new
  // build's names are new; the old ones stay until the cache name changes.)
  if (isShellAsset(url)) {
    event.respondWith(
      caches.match(req).then(
        (hit) =>
          hit ||
          fetch(req).then((res) => {
            if (res.ok) {
              const copy = res.clone();
              event.waitUntil(caches.open(SHELL).then((c) => c.put(req, copy)));
            }
            return res;
          }),
      ),
    );
  }
});
