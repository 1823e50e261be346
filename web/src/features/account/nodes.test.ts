import { describe, expect, it } from 'vitest';
import type { TFunction } from 'i18next';
import { groupsOf, initialValues, labelText, messageText, nodesOf, submitBody, type FlowUi, type UiNode } from './nodes';

const input = (name: string, type: string, value?: unknown, group = 'default', label?: { id: number; text: string }, required = false): UiNode => ({
  type: 'input',
  group,
  attributes: { node_type: 'input', name, type, value, required },
  messages: [],
  meta: label ? { label: { ...label, type: 'info' } } : {},
});

// A registration flow as Kratos v1.3 sends it (trimmed).
const ui: FlowUi = {
  action: 'http://x/kratos/self-service/registration?flow=1',
  method: 'POST',
  nodes: [
    input('csrf_token', 'hidden', 'tok', 'default', undefined, true),
    input('traits.email', 'email', 'a@b.co', 'password', { id: 1070002, text: 'Email' }, true),
    input('traits.name', 'text', '', 'password', { id: 1070002, text: 'Name' }),
    input('password', 'password', undefined, 'password', { id: 1070001, text: 'Password' }, true),
    input('method', 'submit', 'password', 'password', { id: 1040001, text: 'Sign up' }),
    input('link', 'submit', 'x', 'oidc', { id: 1, text: 'Other' }),
  ],
};

describe('flow nodes', () => {
  it('keeps the default group with the groups asked for', () => {
    expect(nodesOf(ui, ['password']).map((n) => n.attributes.name)).toEqual(['csrf_token', 'traits.email', 'traits.name', 'password', 'method']);
    expect(groupsOf(ui)).toEqual(['password', 'oidc']);
  });

  it('prefills what Kratos sent back, nested, but never a password or a button', () => {
    expect(initialValues(ui.nodes)).toEqual({ csrf_token: 'tok', traits: { email: 'a@b.co', name: '' } });
  });

  it('submits nested traits, the hidden CSRF token and the button pressed', () => {
    const body = submitBody(nodesOf(ui, ['password']), { traits: { email: 'z@y.co', name: '' }, password: 'pw' }, { name: 'method', value: 'password' });
    expect(body).toEqual({ csrf_token: 'tok', traits: { email: 'z@y.co' }, password: 'pw', method: 'password' });
  });

  it('translates labels and messages by id, and falls back to Kratos text', () => {
    const seen: unknown[] = [];
    const t = ((key: string, o?: Record<string, unknown>) => {
      seen.push([key, o]);
      const zh: Record<string, string> = { 'kratos:title.Email': '邮箱', 'kratos:label.signUp': '注册', 'kratos:msg.4000032': '密码至少 {{min_length}} 位' };
      return (zh[key] ?? (o?.defaultValue as string)).replace('{{min_length}}', String(o?.min_length));
    }) as unknown as TFunction;
    expect(labelText(t, ui.nodes[1])).toBe('邮箱');
    expect(labelText(t, ui.nodes[4])).toBe('注册');
    expect(labelText(t, ui.nodes[5])).toBe('Other');
    expect(messageText(t, { id: 4000032, text: 'too short', type: 'error', context: { min_length: 8 } })).toBe('密码至少 8 位');
    expect(messageText(t, { id: 9999, text: 'Something new', type: 'error' })).toBe('Something new');
  });
});

import { continueTo } from './kratos';
describe('continue_with', () => {
  it('sends a recovered person to set a password, and ignores what it does not know', () => {
    expect(continueTo({ continue_with: [{ action: 'show_settings_ui', flow: { id: 'abc', url: 'http://x/settings?flow=abc' } }] })).toBe('/settings?flow=abc');
    expect(continueTo({ continue_with: [{ action: 'show_verification_ui', flow: { id: 'v' } }] })).toBeUndefined();
    expect(continueTo({ continue_with: [{ action: 'redirect_browser_to', redirect_browser_to: 'https://evil.example/x' }] })).toBeUndefined();
    expect(continueTo({})).toBeUndefined();
  });
});
