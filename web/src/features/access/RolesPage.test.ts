import { describe, expect, it } from 'vitest';
import { groupPermissions } from './RolesPage';

describe('groupPermissions', () => {
  it('groups by namespace in first-seen order, keeping the catalogue order inside', () => {
    const p = (key: string) => ({ key, label: key, label_zh: key });
    expect(groupPermissions([p('members.manage'), p('profiles.read'), p('profiles.write'), p('audit.read'), p('profiles.erase')])).toEqual([
      { group: 'members', items: [p('members.manage')] },
      { group: 'profiles', items: [p('profiles.read'), p('profiles.write'), p('profiles.erase')] },
      { group: 'audit', items: [p('audit.read')] },
    ]);
  });
});
