// Placeholder until the notification centre is built (issue 6).
export default function NotificationBell() {
  return null;
}
