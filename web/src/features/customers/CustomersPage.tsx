// Placeholder until this screen is built (issue 6); it says so on the page.
import { Result } from 'antd';

export default function CustomersPage() {
  return <Result status="info" title="CustomersPage" subTitle="This screen is not built yet." />;
}
