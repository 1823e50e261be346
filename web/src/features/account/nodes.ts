// Pure helpers over Kratos flow UI nodes: which to show, how their names map to
// form fields, and how a message or label reads in the user's language.
import type { TFunction } from 'i18next';

export interface UiText {
  id: number;
  text: string;
  type: 'info' | 'error' | 'success' | string;
  context?: Record<string, unknown>;
}

export interface UiNodeAttributes {
  node_type: 'input' | 'text' | 'img' | 'a' | 'script' | string;
  name?: string;
  type?: string; // text, password, email, hidden, submit, button, checkbox, number, tel, datetime-local
  value?: unknown;
  required?: boolean;
  disabled?: boolean;
  autocomplete?: string;
  // text nodes
  text?: UiText;
  id?: string;
  // anchor nodes
  href?: string;
  title?: UiText;
}

export interface UiNode {
  type: string;
  group: string;
  attributes: UiNodeAttributes;
  messages: UiText[];
  meta: { label?: UiText };
}

export interface FlowUi {
  action: string;
  method: string;
  nodes: UiNode[];
  messages?: UiText[];
}

export interface Flow {
  id: string;
  ui: FlowUi;
  state?: string;
  return_to?: string;
  expires_at?: string;
}

/** fieldName turns a node name ("traits.email") into an antd Form name path. */
export function fieldName(name: string): string[] {
  return name.split('.');
}

/** isSubmit says whether a node is a button that submits the flow. */
export function isSubmit(n: UiNode): boolean {
  return n.attributes.node_type === 'input' && (n.attributes.type === 'submit' || n.attributes.type === 'button');
}

export function isHidden(n: UiNode): boolean {
  return n.attributes.node_type === 'input' && n.attributes.type === 'hidden';
}

/**
 * nodesOf returns the nodes of the given groups plus the "default" group (the CSRF
 * token, the identifier), in Kratos's order. No groups means every node.
 */
export function nodesOf(ui: FlowUi, groups?: string[]): UiNode[] {
  if (!groups || groups.length === 0) return ui.nodes;
  return ui.nodes.filter((n) => n.group === 'default' || groups.includes(n.group));
}

/** groupsOf lists the groups of a flow other than "default", in first-seen order. */
export function groupsOf(ui: FlowUi): string[] {
  const out: string[] = [];
  for (const n of ui.nodes) if (n.group !== 'default' && !out.includes(n.group)) out.push(n.group);
  return out;
}

/**
 * initialValues gathers the values Kratos sent back (everything but submit
 * buttons and passwords), nested the way the form names them.
 */
export function initialValues(nodes: UiNode[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const n of nodes) {
    const a = n.attributes;
    if (a.node_type !== 'input' || !a.name || isSubmit(n) || a.type === 'password') continue;
    if (a.value === undefined || a.value === null) continue;
    setPath(out, fieldName(a.name), a.value);
  }
  return out;
}

function setPath(obj: Record<string, unknown>, path: string[], v: unknown) {
  let o = obj;
  for (let i = 0; i < path.length - 1; i++) {
    if (typeof o[path[i]] !== 'object' || o[path[i]] === null) o[path[i]] = {};
    o = o[path[i]] as Record<string, unknown>;
  }
  o[path[path.length - 1]] = v;
}

/**
 * submitBody is what to POST: the form's values (hidden ones included) plus the
 * name and value of the button pressed, e.g. {method: "password"}. Empty
 * optional strings are left out so Kratos does not validate them as given.
 */
export function submitBody(nodes: UiNode[], values: Record<string, unknown>, button?: { name: string; value: unknown }): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const n of nodes) {
    const a = n.attributes;
    if (a.node_type !== 'input' || !a.name || isSubmit(n)) continue;
    const path = fieldName(a.name);
    let v: unknown = values;
    for (const p of path) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[p] : undefined;
    if (v === undefined && isHidden(n)) v = a.value;
    if (v === undefined || (v === '' && !a.required)) continue;
    setPath(body, path, v);
  }
  if (button) setPath(body, fieldName(button.name), button.value);
  return body;
}

// Kratos labels whose meaning is clear from their id.
const labelKeys: Record<number, string> = {
  1010001: 'label.signIn',
  1010002: 'label.signIn',
  1010022: 'label.signIn', // "Sign in with password" in Kratos 1.3
  1040001: 'label.signUp',
  1050001: 'label.save',
  1060004: 'label.continue',
  1070001: 'label.password',
  1070003: 'label.save',
  1070004: 'label.email',
  1070005: 'label.submit',
  1070006: 'label.verifyCode',
  1070007: 'label.email',
  1070008: 'label.resendCode',
  1070009: 'label.continue',
  1070010: 'label.recoveryCode',
  1070011: 'label.verificationCode',
  1070012: 'label.registrationCode',
  1070013: 'label.loginCode',
  1070015: 'label.resendCode',
};

/** labelText is a node's label in the user's language. */
export function labelText(t: TFunction, node: UiNode): string {
  const l = node.meta.label;
  if (!l) return node.attributes.name ?? '';
  // 1070002 labels come from the identity schema's titles (Email, Name).
  if (l.id === 1070002) return t(`kratos:title.${l.text}`, { defaultValue: l.text });
  const key = labelKeys[l.id];
  return key ? t(`kratos:${key}`, { defaultValue: l.text }) : l.text;
}

/** messageText is a Kratos message in the user's language, English when we have no translation. */
export function messageText(t: TFunction, m: UiText): string {
  return t(`kratos:msg.${m.id}`, { ...(m.context ?? {}), defaultValue: m.text });
}
