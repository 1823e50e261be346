// jsdom lacks a few browser APIs Ant Design reaches for.
if (!window.matchMedia) {
  window.matchMedia = (query: string) =>
    ({
      matches: false,
      media: query,
      onchange: null,
      addListener: () => {},
      removeListener: () => {},
      addEventListener: () => {},
      removeEventListener: () => {},
      dispatchEvent: () => false,
    }) as unknown as MediaQueryList;
}
if (!('ResizeObserver' in window)) {
  (window as unknown as { ResizeObserver: unknown }).ResizeObserver = class {
    observe() {}
    unobserve() {}
    disconnect() {}
  };
}

// findBy* and waitFor give up after 1 s by default, which a loaded CI machine
// can exceed while Ant Design renders; they still fail when the thing never comes.
import { configure } from '@testing-library/react';
configure({ asyncUtilTimeout: 10_000 });
