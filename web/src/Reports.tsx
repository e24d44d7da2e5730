import type { Report, ReportReason, ReportResolution } from "@parley/client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef, useState } from "react";
import { fieldsOf } from "./App.tsx";
import { nameOf } from "./audit-text.ts";
import { useTRPC } from "./trpc.ts";

/** The schema's reasons (moderation.schema.ts REPORT_REASONS), as the dialog offers them. */
const REASONS: Readonly<Record<ReportReason, string>> = {
  spam: "Spam",
  harassment: "Harassment",
  hate: "Hate",
  violence: "Violence",
  sexual: "Sexual content",
  self_harm: "Self-harm",
  other: "Something else",
};

export type ReportTarget = { messageId: string } | { userId: string; roomId: string };

/** "Report" and its dialog (moderation.report): a reason, an optional note; the room's moderators see it. */
export function ReportButton({ target, name }: { target: ReportTarget; name: string }) {
  const trpc = useTRPC();
  const dialog = useRef<HTMLDialogElement>(null);
  const [sent, setSent] = useState(false);
  const report = useMutation(trpc.moderation.report.mutationOptions({ onSuccess: () => setSent(true) }));
  const about = "messageId" in target ? `${name}'s message` : name;
  return (
    <>
      <button
        type="button"
        onClick={() => {
          setSent(false);
          report.reset();
          dialog.current?.showModal();
        }}
        aria-label={`Report ${about}`}
        data-testid={"messageId" in target ? "message-report" : "member-report"}
      >
        Report
      </button>
      <dialog ref={dialog} className="report-dialog" aria-labelledby={`report-${"messageId" in target ? target.messageId : target.userId}`} data-testid="report-dialog">
        <h3 id={`report-${"messageId" in target ? target.messageId : target.userId}`}>
          Report <bdi>{about}</bdi>
        </h3>
        {sent ? (
          <>
            <p role="status" data-testid="report-sent">
              Thank you: the room's moderators will look at it.
            </p>
            <button type="button" onClick={() => dialog.current?.close()} autoFocus>
              Close
            </button>
          </>
        ) : (
          <form
            onSubmit={(event) => {
              const form = fieldsOf(event);
              const note = form.get("note").trim();
              report.mutate({ ...target, reason: form.get("reason") as ReportReason, ...(note ? { note } : {}) });
            }}
          >
            <label>
              Reason
              <select name="reason" required defaultValue="" data-testid="report-reason">
                <option value="" disabled>
                  Pick one
                </option>
                {(Object.keys(REASONS) as ReportReason[]).map((reason) => (
                  <option key={reason} value={reason}>
                    {REASONS[reason]}
                  </option>
                ))}
              </select>
            </label>
            <label>
              Note (optional)
              <textarea name="note" maxLength={1000} rows={3} data-testid="report-note" />
            </label>
            {/* Not "actions": inside a message, that class is the hover toolbar's. */}
            <span className="dialog-actions">
              <button type="submit" className="primary" disabled={report.isPending} data-testid="report-submit">
                Send report
              </button>
              <button type="button" onClick={() => dialog.current?.close()}>
                Cancel
              </button>
            </span>
            <p className="notice" role="alert">
              {report.error?.message}
            </p>
          </form>
        )}
      </dialog>
    </>
  );
}

const ACTIONS: readonly [ReportResolution, string][] = [
  ["dismiss", "Dismiss"],
  ["delete", "Delete message"],
  ["mute", "Mute"],
  ["kick", "Remove"],
  ["ban", "Ban"],
];

/** The room's reports for its moderators (moderation.reports), open or resolved; each open one resolved in place. */
export function ReportsQueue({ roomId }: { roomId: string }) {
  const trpc = useTRPC();
  const [status, setStatus] = useState<"open" | "resolved">("open");
  const reports = useQuery(trpc.moderation.reports.queryOptions({ roomId, status }));
  const { refetch } = reports;
  // Reports raise no event: read again when the queue is looked at again.
  useEffect(() => {
    const again = (): void => void (document.visibilityState === "visible" && refetch());
    document.addEventListener("visibilitychange", again);
    return () => document.removeEventListener("visibilitychange", again);
  }, [refetch]);
  return (
    <section className="tool" aria-labelledby="reports-heading" data-testid="reports-queue">
      <div className="panel-head">
        <h4 id="reports-heading">Reports</h4>
        <span className="actions">
          <label>
            <span className="visually-hidden">Show</span>
            <select value={status} onChange={(event) => setStatus(event.target.value === "resolved" ? "resolved" : "open")} data-testid="reports-status">
              <option value="open">Open</option>
              <option value="resolved">Resolved</option>
            </select>
          </label>
          <button type="button" onClick={() => void refetch()} disabled={reports.isFetching}>
            Refresh
          </button>
        </span>
      </div>
      {reports.data?.items.length === 0 && <p className="hint">No {status} reports.</p>}
      <ul className="reports">
        {reports.data?.items.map((report) => (
          <ReportItem key={report.id} roomId={roomId} report={report} />
        ))}
      </ul>
      <p className="notice" role="alert">
        {reports.error?.message}
      </p>
    </section>
  );
}

function ReportItem({ roomId, report }: { roomId: string; report: Report }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const resolve = useMutation(
    trpc.moderation.resolve.mutationOptions({
      onSuccess: () =>
        Promise.all([
          queryClient.invalidateQueries(trpc.moderation.reports.queryFilter({ roomId })),
          queryClient.invalidateQueries(trpc.rooms.auditLog.queryFilter({ roomId })),
        ]),
    }),
  );
  const message = report.target.message;
  return (
    <li data-testid="report" data-report-id={report.id} data-status={report.status}>
      <p>
        <bdi>{nameOf(report.reporter)}</bdi> reported {message ? "a message by " : ""}
        <bdi>{nameOf(report.target.user)}</bdi> for <strong>{REASONS[report.reason].toLowerCase()}</strong>{" "}
        <time dateTime={report.createdAt} className="hint">
          {new Date(report.createdAt).toLocaleString()}
        </time>
      </p>
      {message && (
        <blockquote className="quote" data-testid="report-excerpt">
          {message.deleted ? <em>Message deleted</em> : <span dir="auto">{message.excerpt}</span>}
        </blockquote>
      )}
      {report.note && (
        <p className="note" dir="auto">
          “{report.note}”
        </p>
      )}
      {report.resolution ? (
        <p className="hint" data-testid="report-resolution">
          Resolved: {report.resolution.action} ({new Date(report.resolution.at).toLocaleString()})
        </p>
      ) : (
        <span className="actions" role="group" aria-label="Resolve">
          {ACTIONS.filter(([action]) => action !== "delete" || (message && !message.deleted)).map(([action, label]) => (
            <button key={action} type="button" disabled={resolve.isPending} onClick={() => resolve.mutate({ reportId: report.id, action })} data-testid={`resolve-${action}`}>
              {label}
            </button>
          ))}
        </span>
      )}
      <p className="notice" role="alert">
        {resolve.error?.message}
      </p>
    </li>
  );
}
