// Renders a Kratos flow's UI nodes as an Ant Design form: each input with its
// label and its own messages under it, the flow's messages on top, hidden
// inputs (the CSRF token) kept, and the pressed button's name/value submitted.
import { useMemo, useRef } from 'react';
import { Alert, Button, Checkbox, Form, Input, Space } from 'antd';
import { useTranslation } from 'react-i18next';
import { fieldName, initialValues, isHidden, isSubmit, labelText, messageText, nodesOf, submitBody, type Flow, type UiNode, type UiText } from './nodes';

const alertType = (m: UiText) => (m.type === 'error' ? 'error' : m.type === 'success' ? 'success' : 'info');

export function FlowMessages({ messages }: { messages?: UiText[] }) {
  const { t } = useTranslation();
  if (!messages?.length) return null;
  return (
    <Space direction="vertical" style={{ width: '100%', marginBottom: 16 }}>
      {messages.map((m) => (
        <Alert key={`${m.id}-${m.text}`} type={alertType(m)} showIcon message={messageText(t, m)} role={m.type === 'error' ? 'alert' : 'status'} />
      ))}
    </Space>
  );
}

interface Props {
  flow: Flow;
  /** Only these node groups (plus "default"); all when absent. */
  groups?: string[];
  /** Leave out the flow-level messages (the page shows them elsewhere). */
  hideMessages?: boolean;
  busy?: boolean;
  onSubmit: (body: Record<string, unknown>) => void | Promise<unknown>;
  /** Values to prefill, e.g. a code from the email link. */
  prefill?: Record<string, unknown>;
  testId?: string;
}

export default function FlowForm({ flow, groups, hideMessages, busy, onSubmit, prefill, testId }: Props) {
  const { t } = useTranslation();
  const [form] = Form.useForm();
  const pressed = useRef<{ name: string; value: unknown } | undefined>(undefined);
  const nodes = useMemo(() => nodesOf(flow.ui, groups), [flow.ui, groups]);
  const initial = useMemo(() => ({ ...initialValues(nodes), ...(prefill ?? {}) }), [nodes, prefill]);
  const submits = nodes.filter(isSubmit);
  // The form remounts with each new flow state so Kratos's values come back in.
  const key = `${flow.id}:${flow.state ?? ''}:${JSON.stringify(flow.ui.messages ?? [])}:${nodes.map((n) => n.messages.length).join(',')}`;

  function finish(values: Record<string, unknown>) {
    const button = pressed.current ?? (submits[0]?.attributes.name ? { name: submits[0].attributes.name, value: submits[0].attributes.value } : undefined);
    pressed.current = undefined;
    return onSubmit(submitBody(nodes, values, button));
  }

  return (
    <>
      {!hideMessages && <FlowMessages messages={flow.ui.messages} />}
      <Form key={key} form={form} layout="vertical" initialValues={initial} onFinish={finish} requiredMark="optional" data-testid={testId} size="large">
        {nodes.map((n, i) => (
          <FlowNode key={`${n.attributes.name ?? n.attributes.id ?? i}-${i}`} node={n} busy={busy} primary={n === submits[0]} onPress={(b) => (pressed.current = b)} t={t} />
        ))}
      </Form>
    </>
  );
}

function NodeHelp({ node }: { node: UiNode }) {
  const { t } = useTranslation();
  if (!node.messages.length) return null;
  return (
    <>
      {node.messages.map((m) => (
        <div key={`${m.id}-${m.text}`}>{messageText(t, m)}</div>
      ))}
    </>
  );
}

function FlowNode({ node, busy, primary, onPress, t }: { node: UiNode; busy?: boolean; primary: boolean; onPress: (b: { name: string; value: unknown }) => void; t: ReturnType<typeof useTranslation>['t'] }) {
  const a = node.attributes;
  if (a.node_type === 'text' && a.text) {
    return (
      <Form.Item label={labelText(t, node)}>
        <code style={{ display: 'block', whiteSpace: 'pre-wrap', background: 'var(--c-page)', padding: 8, borderRadius: 6 }}>{a.text.text}</code>
      </Form.Item>
    );
  }
  if (a.node_type === 'a' && a.href) {
    return (
      <Form.Item>
        <a href={a.href}>{a.title ? a.title.text : a.href}</a>
      </Form.Item>
    );
  }
  if (a.node_type !== 'input' || !a.name) return null;
  if (isHidden(node)) {
    return (
      <Form.Item name={fieldName(a.name)} hidden>
        <Input type="hidden" />
      </Form.Item>
    );
  }
  const hasError = node.messages.some((m) => m.type === 'error');
  if (isSubmit(node)) {
    return (
      <Form.Item validateStatus={hasError ? 'error' : undefined} help={node.messages.length ? <NodeHelp node={node} /> : undefined}>
        <Button
          type={primary ? 'primary' : 'default'}
          htmlType="submit"
          block
          loading={busy && primary}
          disabled={a.disabled}
          name={a.name}
          value={String(a.value ?? '')}
          onClick={() => onPress({ name: a.name!, value: a.value })}
          data-testid={`submit-${a.name}-${String(a.value ?? '')}`}
        >
          {labelText(t, node)}
        </Button>
      </Form.Item>
    );
  }
  const label = labelText(t, node);
  const common = {
    name: fieldName(a.name),
    label,
    required: a.required,
    validateStatus: hasError ? ('error' as const) : undefined,
    help: node.messages.length ? <NodeHelp node={node} /> : undefined,
  };
  if (a.type === 'checkbox') {
    return (
      <Form.Item {...common} label={undefined} valuePropName="checked">
        <Checkbox disabled={a.disabled}>{label}</Checkbox>
      </Form.Item>
    );
  }
  if (a.type === 'password') {
    return (
      <Form.Item {...common}>
        <Input.Password autoComplete={a.autocomplete ?? 'current-password'} disabled={a.disabled} data-testid={`field-${a.name}`} />
      </Form.Item>
    );
  }
  return (
    <Form.Item {...common}>
      <Input
        type={a.type === 'email' || a.type === 'tel' || a.type === 'number' || a.type === 'url' ? a.type : 'text'}
        autoComplete={a.autocomplete ?? (a.name === 'identifier' || a.name === 'traits.email' || a.name === 'email' ? 'email' : undefined)}
        disabled={a.disabled}
        inputMode={a.name === 'code' ? 'numeric' : undefined}
        data-testid={`field-${a.name}`}
      />
    </Form.Item>
  );
}
