// useMedia follows a CSS media query; the layout switches with it (phone and
// tablet layouts below 992 px, the width where the side menu becomes a drawer).
import { useSyncExternalStore } from 'react';

export function useMedia(query: string): boolean {
  return useSyncExternalStore(
    (cb) => {
      if (typeof matchMedia !== 'function') return () => {};
      const mq = matchMedia(query);
      mq.addEventListener('change', cb);
      return () => mq.removeEventListener('change', cb);
    },
    () => (typeof matchMedia === 'function' ? matchMedia(query).matches : false),
    () => false,
  );
}

/** useNarrow: tablets in portrait and phones (the navigation is a drawer). */
export const useNarrow = () => useMedia('(max-width: 991px)');
/** usePhone: phones (lists are cards, dialogs are full-screen sheets). */
export const usePhone = () => useMedia('(max-width: 767px)');
