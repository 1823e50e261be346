import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import '../../app/i18n';
import './locales';
import i18n from '../../app/i18n';
import FlowForm from './FlowForm';
import type { Flow } from './nodes';

afterEach(() => {
  cleanup();
  void i18n.changeLanguage('en');
});

// A login flow Kratos answered with 400: wrong credentials, and a field message.
const flow: Flow = {
  id: 'f1',
  ui: {
    action: '/kratos/self-service/login?flow=f1',
    method: 'POST',
    messages: [{ id: 4000006, text: 'The provided credentials are invalid, check for spelling mistakes in your password or username, email address, or phone number.', type: 'error' }],
    nodes: [
      { type: 'input', group: 'default', attributes: { node_type: 'input', name: 'csrf_token', type: 'hidden', value: 'csrf-123', required: true }, messages: [], meta: {} },
      { type: 'input', group: 'default', attributes: { node_type: 'input', name: 'identifier', type: 'text', value: 'li@acme.example', required: true }, messages: [], meta: { label: { id: 1070004, text: 'ID', type: 'info' } } },
      {
        type: 'input',
        group: 'password',
        attributes: { node_type: 'input', name: 'password', type: 'password', required: true },
        messages: [{ id: 4000002, text: 'Property password is missing.', type: 'error', context: { property: 'password' } }],
        meta: { label: { id: 1070001, text: 'Password', type: 'info' } },
      },
      { type: 'input', group: 'password', attributes: { node_type: 'input', name: 'method', type: 'submit', value: 'password' }, messages: [], meta: { label: { id: 1010001, text: 'Sign in', type: 'info' } } },
    ],
  },
};

describe('<FlowForm>', () => {
  it('renders labelled fields with their messages and the flow message', () => {
    render(<FlowForm flow={flow} onSubmit={() => {}} />);
    const id = screen.getByLabelText('Email') as HTMLInputElement;
    expect(id.value).toBe('li@acme.example');
    expect(screen.getByLabelText('Password')).toBeTruthy();
    expect(screen.getByText('Property password is missing.')).toBeTruthy();
    expect(screen.getByRole('alert').textContent).toContain('credentials are invalid');
    expect(screen.getByRole('button', { name: 'Sign in' })).toBeTruthy();
  });

  it('submits the CSRF token, the fields and the pressed button', async () => {
    const onSubmit = vi.fn();
    render(<FlowForm flow={flow} onSubmit={onSubmit} />);
    fireEvent.change(screen.getByLabelText('Password'), { target: { value: 'pw-123456' } });
    fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    await waitFor(() => expect(onSubmit).toHaveBeenCalled());
    expect(onSubmit.mock.calls[0][0]).toEqual({ csrf_token: 'csrf-123', identifier: 'li@acme.example', password: 'pw-123456', method: 'password' });
  });

  it('speaks Chinese: labels and Kratos messages by id', async () => {
    await i18n.changeLanguage('zh');
    render(<FlowForm flow={flow} onSubmit={() => {}} />);
    expect(screen.getByLabelText('邮箱')).toBeTruthy();
    expect(screen.getByLabelText('密码')).toBeTruthy();
    expect(screen.getByText('请填写“password”。')).toBeTruthy();
    expect(screen.getByRole('alert').textContent).toContain('邮箱或密码不正确');
    expect(screen.getByRole('button', { name: /登\s?录/ })).toBeTruthy();
  });
});
