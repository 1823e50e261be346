// Registers the service worker (public/sw.js) in production builds. It caches the
// app's shell only; see the worker for what it keeps and what it never does.
export function registerServiceWorker() {
  if (!import.meta.env.PROD || !('serviceWorker' in navigator)) return;
  window.addEventListener('load', () => {
    navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(() => {
      // Without a worker the app works the same, online only.
    });
  });
}
