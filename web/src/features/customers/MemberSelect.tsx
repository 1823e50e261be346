// MemberSelect on its own, so a screen that only picks members (a list's
// owner filter) does not load every field input (date pickers, rates).
import { Select } from 'antd';
import { useTranslation } from 'react-i18next';
import './locales';
import { useTenant } from '../../app/session';
import { useMembers } from './api';

/** MemberSelect picks a member of the company (owners, user fields). */
export function MemberSelect({ id, value, onChange, placeholder, style, ...rest }: { id?: string; value?: string; onChange?: (v: string | null) => void; placeholder?: string; style?: React.CSSProperties; 'aria-label'?: string }) {
  const { t } = useTranslation('customers');
  const tenant = useTenant();
  const m = useMembers(tenant.slug);
  return (
    <Select id={id} allowClear showSearch={{ optionFilterProp: 'label' }} loading={m.isPending} options={m.options} value={value || undefined}
      onChange={(v) => onChange?.(v ?? null)} placeholder={placeholder ?? t('chooseMember')} style={style ?? { width: '100%' }} aria-label={rest['aria-label']} />
  );
}
