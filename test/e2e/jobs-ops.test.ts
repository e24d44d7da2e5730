import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { enqueueJob } from "../../src/domain/jobs/enqueue.ts";
import { until } from "../support/fault-harness.ts";
import { createInProcessApp, type InProcessApp } from "../support/in-process-app.ts";

const METRICS_TOKEN = "metrics-token-for-the-jobs-ops-suite";
const operator = { authorization: `Bearer ${METRICS_TOKEN}` };

/**
 * What an operator does about the outbox: counts, dead jobs and retrying them, behind the /metrics guard — and the
 * outbox series on /metrics. Its jobs are of the test-only kind, which an app without JOBS_TEST_HANDLERS has no
 * handler for: each dies at once.
 */
describe("outbox operator routes", () => {
  let app: InProcessApp;
  let deadId: string;

  beforeAll(async () => {
    app = await createInProcessApp({ METRICS_TOKEN, JOBS_POLL_INTERVAL_MS: "20" });
    await app.deps.database.db.transaction((tx) => enqueueJob(tx, { kind: "test.sleep", payload: { ms: 4_242_424 } }));
    await until(async () => ((await app.call("/ops/jobs/stats", { headers: operator })).json as { dead: number }).dead === 1, () => "the job died", 5000);
    deadId = ((await app.call("/ops/jobs/dead", { headers: operator })).json as { items: { id: string }[] }).items[0]!.id;
  });
  afterAll(async () => {
    await app?.close();
  });

  it("lists dead jobs with their error and never their payload", async () => {
    const answer = await app.call("/ops/jobs/dead?limit=10", { headers: operator });
    expect(answer.status).toBe(200);
    expect(answer.headers.get("cache-control")).toBe("no-store");
    expect(answer.json).toEqual({
      items: [{ id: deadId, kind: "test.sleep", attempts: 1, lastError: 'no handler for job kind "test.sleep" on this instance', createdAt: expect.any(String), diedAt: expect.any(String) }],
    });
    expect(answer.text).not.toContain("4242424");
  });

  it("queues dead jobs again by id or all at once", async () => {
    const byId = await app.call("/ops/jobs/retry", { method: "POST", headers: { ...operator, "content-type": "application/json" }, body: JSON.stringify({ ids: [deadId] }) });
    expect(byId).toMatchObject({ status: 200, json: { retried: [deadId] } });
    await until(async () => ((await app.call("/ops/jobs/stats", { headers: operator })).json as { dead: number }).dead === 1, () => "it died again", 5000);
    const all = await app.call("/ops/jobs/retry", { method: "POST", headers: { ...operator, "content-type": "application/json" }, body: JSON.stringify({ all: true }) });
    expect(all).toMatchObject({ status: 200, json: { retried: [deadId] } });
  });

  it("refuses a retry it cannot read, and every route without the token", async () => {
    for (const body of ["{}", '{"ids": ["not-a-uuid"]}', '{"all": false}', "nonsense"]) {
      const answer = await app.call("/ops/jobs/retry", { method: "POST", headers: { ...operator, "content-type": "application/json" }, body });
      expect(answer.status, body).toBe(400);
    }
    expect((await app.call("/ops/jobs/dead")).status).toBe(401);
    expect((await app.call("/ops/jobs/stats", { headers: { authorization: "Bearer wrong" } })).status).toBe(401);
    expect((await app.call("/ops/jobs/retry", { method: "POST", body: '{"all": true}' })).status).toBe(401);
  });

  it("shows the outbox on /metrics: queue counts, age of the oldest due job, failed attempts", async () => {
    const text = (await app.call("/metrics", { headers: operator })).text;
    for (const name of ["parley_jobs_queued", "parley_jobs_running", "parley_jobs_dead", "parley_jobs_oldest_due_seconds", "parley_jobs_active"]) {
      expect(text, name).toContain(`# TYPE ${name} gauge`);
    }
    expect(text).toMatch(/^parley_job_attempts_failed_total\{kind="test.sleep"\} [1-9]/m);
  });
});

describe("outbox operator routes without METRICS_TOKEN", () => {
  it("are not served on the main port at all", async () => {
    const app = await createInProcessApp();
    try {
      expect((await app.call("/ops/jobs/dead")).status).toBe(404);
    } finally {
      await app.close();
    }
  });
});
