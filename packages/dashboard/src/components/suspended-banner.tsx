import { api, orgPath } from '../api';
import { useLoad, when } from '../ui';

/**
 * The banner over every page of an org a platform operator suspended: what stopped and that reading still
 * works. Read from `GET /api/orgs/:orgId` when the org is opened (every role may read it); a suspension that
 * happens meanwhile shows as the `org_suspended` error of the next write.
 */
export function SuspendedBanner({ orgId }: { orgId: string }) {
  const org = useLoad(
    () => api<{ suspended: boolean; suspendedAt: string | null }>('GET', orgPath(orgId)),
    [orgId],
  );
  if (!org.data?.suspended) return null;
  return (
    <div className="banner" role="alert" data-testid="org-suspended-banner">
      <p>
        <strong>This organization is suspended</strong>
        {org.data.suspendedAt ? ` since ${when(org.data.suspendedAt)}` : ''}. Its API keys, runtime tokens,
        widgets and scheduled jobs are stopped, and changes are refused; you can still read everything here.
        Contact support to have it resumed.
      </p>
    </div>
  );
}
