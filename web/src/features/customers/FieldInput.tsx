// One input per custom-field type, as forms, the preview and the filter builder use.
import { Checkbox, DatePicker, Input, InputNumber, Rate, Select, Space } from 'antd';
import dayjs from 'dayjs';
import { useTranslation } from 'react-i18next';
import { type FieldDef, fieldLabel } from './fields';

type Props = { def: FieldDef; value?: unknown; onChange?: (v: unknown) => void; id?: string };

export function FieldInput({ def, value, onChange, id }: Props) {
  const { i18n } = useTranslation();
  const opts = (def.options ?? []).map((o) => ({ value: o.value, label: fieldLabel({ key: o.value, label_en: o.label_en ?? o.value, label_zh: o.label_zh }, i18n.language) }));
  const set = (v: unknown) => onChange?.(v);
  switch (def.type) {
    case 'long_text':
      return <Input.TextArea id={id} rows={3} value={value as string} onChange={(e) => set(e.target.value)} />;
    case 'number':
    case 'decimal':
      return <InputNumber id={id} style={{ width: '100%' }} value={value as number} stringMode={def.type === 'decimal'} onChange={set} />;
    case 'currency': {
      const v = (value as { amount?: string; currency?: string }) ?? {};
      return (
        <Space.Compact style={{ width: '100%' }}>
          <InputNumber id={id} style={{ width: '70%' }} stringMode value={v.amount} onChange={(a) => set({ ...v, amount: a ?? undefined })} />
          <Input style={{ width: '30%' }} aria-label="currency" value={v.currency ?? 'CNY'} onChange={(e) => set({ ...v, currency: e.target.value.toUpperCase() })} />
        </Space.Compact>
      );
    }
    case 'date':
      return <DatePicker id={id} style={{ width: '100%' }} value={value ? dayjs(value as string) : null} onChange={(d) => set(d ? d.format('YYYY-MM-DD') : null)} />;
    case 'datetime':
      return <DatePicker id={id} showTime style={{ width: '100%' }} value={value ? dayjs(value as string) : null} onChange={(d) => set(d ? d.toISOString() : null)} />;
    case 'boolean':
      return <Checkbox id={id} checked={!!value} onChange={(e) => set(e.target.checked)} />;
    case 'select':
      return <Select id={id} allowClear options={opts} value={value as string} onChange={set} />;
    case 'multi_select':
      return <Select id={id} mode="multiple" allowClear options={opts} value={(value as string[]) ?? []} onChange={set} />;
    case 'rating':
      return <Rate count={def.max || 5} value={value as number} onChange={set} />;
    default:
      if (def.sensitive) {
        // Hidden until the eye is pressed; a viewer without pii.read only ever gets the mask.
        return value === '••••••' ? (
          <Input id={id} disabled placeholder="••••••" />
        ) : (
          <Input.Password id={id} value={value as string} onChange={(e) => set(e.target.value)} autoComplete="off" />
        );
      }
      return (
        <Input
          id={id}
          type={def.type === 'email' ? 'email' : def.type === 'url' ? 'url' : 'text'}
          value={def.sensitive && value === '••••••' ? undefined : (value as string)}
          placeholder={def.sensitive && value === '••••••' ? '••••••' : undefined}
          onChange={(e) => set(e.target.value)}
        />
      );
  }
}

/** showValue renders a stored custom value as text. */
export function showValue(def: FieldDef | undefined, v: unknown, lang: string): string {
  if (v === null || v === undefined || v === '') return '';
  if (Array.isArray(v)) return v.map((x) => showValue(def, x, lang)).join(', ');
  if (typeof v === 'object') {
    const c = v as { amount?: string; currency?: string };
    if (c.amount !== undefined) return `${c.amount} ${c.currency ?? ''}`.trim();
    return JSON.stringify(v);
  }
  if (typeof v === 'boolean') return v ? '✓' : '✗';
  const o = def?.options?.find((x) => x.value === v);
  if (o) return fieldLabel({ key: o.value, label_en: o.label_en ?? o.value, label_zh: o.label_zh }, lang);
  return String(v);
}
