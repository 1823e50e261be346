// One input per custom-field type, as the create and edit forms and the fields
// admin's preview show it.
import './locales';
import { AutoComplete, DatePicker, Input, InputNumber, Rate, Select, Space, Switch } from 'antd';
import dayjs from 'dayjs';
import { useTranslation } from 'react-i18next';
import { useFormat } from '../../app/useFormat';
import { CURRENCIES } from './api';
import { MemberSelect } from './MemberSelect';
import { type FieldDef, MASK, fieldLabel, optionLabel } from './fields';

type Props = { def: FieldDef; value?: unknown; onChange?: (v: unknown) => void; id?: string; 'aria-invalid'?: boolean };

export function FieldInput({ def, value, onChange, id, ...rest }: Props) {
  const { t, i18n } = useTranslation('customers');
  const f = useFormat();
  const label = fieldLabel(def, i18n.language);
  const opts = (def.options ?? []).map((o) => ({ value: o.value, label: optionLabel(o, i18n.language) }));
  const set = (v: unknown) => onChange?.(v);
  const aria = { 'aria-invalid': rest['aria-invalid'] };
  switch (def.type) {
    case 'long_text':
      return <Input.TextArea id={id} {...aria} rows={3} value={value as string} onChange={(e) => set(e.target.value)} />;
    case 'number':
      return <InputNumber id={id} {...aria} style={{ width: '100%' }} value={value as number} onChange={set} />;
    case 'decimal':
      return <InputNumber<string> id={id} {...aria} style={{ width: '100%' }} stringMode value={value as string} onChange={set} />;
    case 'currency': {
      const v = (value as { amount?: string; currency?: string }) ?? {};
      return (
        <Space.Compact style={{ width: '100%' }}>
          <InputNumber<string> id={id} {...aria} style={{ width: '100%' }} stringMode min="0" value={v.amount}
            onChange={(a) => set({ currency: v.currency || f.settings.currency, ...v, amount: a ?? undefined })} />
          <AutoComplete style={{ width: 110 }} aria-label={`${label}: ${t('currency')}`} value={v.currency || f.settings.currency}
            options={CURRENCIES.map((c) => ({ value: c }))}
            onChange={(c: string) => set({ ...v, currency: c.toUpperCase().slice(0, 3) })} />
        </Space.Compact>
      );
    }
    case 'date':
      return <DatePicker id={id} {...aria} style={{ width: '100%' }} value={value ? dayjs(value as string) : null} onChange={(d) => set(d ? d.format('YYYY-MM-DD') : null)} />;
    case 'datetime':
      return <DatePicker id={id} {...aria} showTime={{ format: 'HH:mm' }} format="YYYY-MM-DD HH:mm" style={{ width: '100%' }} value={value ? dayjs(value as string) : null} onChange={(d) => set(d ? d.toISOString() : null)} />;
    case 'boolean':
      return <Switch id={id} checked={!!value} onChange={set} aria-label={label} />;
    case 'select':
      return <Select id={id} {...aria} allowClear showSearch={{ optionFilterProp: 'label' }} options={opts} value={value as string} onChange={(v) => set(v ?? null)} placeholder={t('choose')} />;
    case 'multi_select':
      return <Select id={id} {...aria} mode="multiple" allowClear options={opts} value={(value as string[]) ?? []} onChange={set} placeholder={t('choose')} />;
    case 'rating':
      return <Rate id={id} count={def.max || 5} value={value as number} onChange={set} aria-label={label} />;
    case 'user':
      return <MemberSelect id={id} value={value as string} onChange={set} />;
    default:
      if (def.sensitive) {
        // A viewer without pii.read only ever gets the mask: they may replace the value, never read it.
        if (value === MASK) return <Input.Password id={id} {...aria} placeholder={MASK} visibilityToggle={false} autoComplete="off" onChange={(e) => set(e.target.value)} />;
        return <Input.Password id={id} {...aria} value={value as string} onChange={(e) => set(e.target.value)} autoComplete="off" />;
      }
      return (
        <Input id={id} {...aria} value={value as string} onChange={(e) => set(e.target.value)}
          type={def.type === 'email' ? 'email' : def.type === 'url' ? 'url' : def.type === 'phone' ? 'tel' : 'text'}
          placeholder={def.type === 'email' ? 'li.lei@example.com' : def.type === 'url' ? 'https://' : def.type === 'phone' ? '+86 139 1234 5678' : undefined} />
      );
  }
}

// MemberSelect lives in its own module (no date pickers or the like with it); re-exported for the form.
export { MemberSelect };
