import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, render, screen } from '@testing-library/react';
import '../../app/i18n';
import './locales';
import i18n from '../../app/i18n';
import FlowBody from './FlowBody';
import { retryAt, type useFlow } from './kratos';
import type { Flow } from './nodes';

afterEach(() => {
  cleanup();
  void i18n.changeLanguage('en');
});

const flow: Flow = {
  id: 'f1',
  ui: {
    action: '/kratos/self-service/login?flow=f1',
    method: 'POST',
    nodes: [{ type: 'input', group: 'password', attributes: { node_type: 'input', name: 'method', type: 'submit', value: 'password' }, messages: [], meta: { label: { id: 1010001, text: 'Sign in', type: 'info' } } }],
  },
};

function throttled(minutes: number): ReturnType<typeof useFlow> {
  const noop = async () => undefined;
  return { flow, throttledUntil: Date.now() + minutes * 60_000 - 1000, busy: false, submit: noop, restart: () => {}, returnTo: undefined, fatal: undefined, notice: undefined };
}

describe('too many sign-in attempts', () => {
  it('reads Retry-After into the time to try again', () => {
    expect(retryAt('900', 1_000)).toBe(901_000);
    expect(retryAt(undefined, 1_000)).toBe(61_000);
    expect(retryAt('soon', 1_000)).toBe(61_000);
  });

  it('says when to try again, and keeps the form', () => {
    render(<FlowBody f={throttled(15)} />);
    expect(screen.getByRole('alert').textContent).toMatch(/Too many sign-in attempts\. Try again in 15 minutes, at \d\d:\d\d\./);
    expect(screen.getByRole('button', { name: 'Sign in' })).toBeTruthy();
  });

  it('says it in Chinese', async () => {
    await i18n.changeLanguage('zh');
    render(<FlowBody f={throttled(1)} />);
    expect(screen.getByRole('alert').textContent).toMatch(/登录尝试次数过多，请在 1 分钟后（\d\d:\d\d）再试。/);
  });
});
