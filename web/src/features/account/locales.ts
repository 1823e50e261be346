// Texts of the account screens, and Kratos's labels and messages in Chinese (by
// their ids, see https://www.ory.sh/docs/kratos/concepts/ui-user-interface).
import { registerLocales } from '../../app/i18n';

const en = {
  brand: {
    tagline: 'Customer relationships, organised.',
    points: ['Every customer, contact and conversation in one place', 'Custom fields shaped to your business', 'Imports, reminders and an audit trail built in'],
  },
  login: { title: 'Sign in to Clientele', noAccount: 'New to Clientele?', signUp: 'Create an account', forgot: 'Forgot your password?', refresh: 'Confirm it is you to continue.' },
  registration: { title: 'Create your account', subtitle: 'Start with your email address; you can invite your team later.', haveAccount: 'Already have an account?', signIn: 'Sign in' },
  recovery: { title: 'Recover your account', subtitle: 'We will email you a code that lets you sign in and set a new password.', back: 'Back to sign in' },
  verification: { title: 'Verify your email address', subtitle: 'Enter the code we sent to your email address.', done: 'Your email address is verified.', continue: 'Continue to Clientele' },
  settings: { title: 'My account', profile: 'Profile', password: 'Password', passwordHelp: 'Choose a new password of at least 8 characters.', back: 'Back', saved: 'Your changes have been saved.' },
  error: { title: 'Something went wrong with your sign-in', retry: 'Start again' },
  expired: 'That form expired; here is a fresh one.',
  throttled_one: 'Too many sign-in attempts. Try again in {{count}} minute, at {{time}}.',
  throttled_other: 'Too many sign-in attempts. Try again in {{count}} minutes, at {{time}}.',
};

const zh: typeof en = {
  brand: {
    tagline: '客户关系，井井有条。',
    points: ['客户、联系人与沟通记录集中管理', '按您的业务定制自定义字段', '内置导入、提醒与审计追踪'],
  },
  login: { title: '登录 Clientele', noAccount: '还没有账户？', signUp: '立即注册', forgot: '忘记密码？', refresh: '请确认身份后继续。' },
  registration: { title: '创建您的账户', subtitle: '使用邮箱注册，之后可以邀请团队成员。', haveAccount: '已有账户？', signIn: '登录' },
  recovery: { title: '找回账户', subtitle: '我们会向您的邮箱发送验证码，用于登录并设置新密码。', back: '返回登录' },
  verification: { title: '验证邮箱地址', subtitle: '请输入我们发送到您邮箱的验证码。', done: '您的邮箱地址已验证。', continue: '进入 Clientele' },
  settings: { title: '我的账户', profile: '个人资料', password: '密码', passwordHelp: '请设置至少 8 位的新密码。', back: '返回', saved: '您的更改已保存。' },
  error: { title: '登录时出现问题', retry: '重新开始' },
  expired: '表单已过期，已为您刷新。',
  throttled_one: '登录尝试次数过多，请在 {{count}} 分钟后（{{time}}）再试。',
  throttled_other: '登录尝试次数过多，请在 {{count}} 分钟后（{{time}}）再试。',
};

const kratosEn = {
  title: { Email: 'Email', Name: 'Full name' },
  label: {
    signIn: 'Sign in', signUp: 'Sign up', save: 'Save', continue: 'Continue', password: 'Password', email: 'Email', submit: 'Submit',
    verifyCode: 'Verify code', resendCode: 'Resend code', recoveryCode: 'Recovery code', verificationCode: 'Verification code',
    registrationCode: 'Registration code', loginCode: 'Login code',
  },
  msg: {},
};

const kratosZh = {
  title: { Email: '邮箱', Name: '姓名' },
  label: {
    signIn: '登录', signUp: '注册', save: '保存', continue: '继续', password: '密码', email: '邮箱', submit: '提交',
    verifyCode: '验证', resendCode: '重新发送验证码', recoveryCode: '恢复码', verificationCode: '验证码',
    registrationCode: '注册码', loginCode: '登录码',
  },
  msg: {
    1010003: '请确认是您本人在操作。',
    1050001: '您的更改已保存。',
    1060001: '您已成功找回账户，请在 {{privileged_session_expires_at_unix_until_minutes}} 分钟内修改密码。',
    1060002: '包含找回链接的邮件已发送到您提供的邮箱地址。',
    1060003: '包含恢复码的邮件已发送到您提供的邮箱地址。如果没有收到，请检查邮箱拼写，并确认使用的是注册时的邮箱。',
    1080001: '包含验证链接的邮件已发送到您提供的邮箱地址。',
    1080002: '您已成功验证邮箱地址。',
    1080003: '包含验证码的邮件已发送到您提供的邮箱地址。如果没有收到，请检查邮箱拼写，并确认使用的是注册时的邮箱。',
    4000001: '{{reason}}',
    4000002: '请填写“{{property}}”。',
    4000005: '该密码不可用：{{reason}}',
    4000006: '邮箱或密码不正确，请检查拼写后重试。',
    4000007: '已存在使用相同邮箱的账户。',
    4000010: '账户尚未激活，请先验证邮箱地址。',
    4000031: '该密码与邮箱过于相似，无法使用。',
    4000032: '密码至少需要 {{min_length}} 个字符，当前为 {{actual_length}} 个。',
    4000034: '该密码曾在数据泄露中出现过，请换一个。',
    4010001: '登录表单已过期，请重试。',
    4040001: '注册表单已过期，请重试。',
    4060004: '恢复码无效或已被使用，请重试。',
    4060005: '找回流程已过期，请重新开始。',
    4070005: '验证流程已过期，请重新开始。',
    4070006: '验证码无效或已被使用，请重试。',
  },
};

registerLocales('account', { en, zh });
registerLocales('kratos', { en: kratosEn, zh: kratosZh });
