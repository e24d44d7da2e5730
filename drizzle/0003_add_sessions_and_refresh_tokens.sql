CREATE TABLE "refresh_tokens" (
	"token_hash" text PRIMARY KEY NOT NULL,
	"session_id" uuid NOT NULL,
	"generation" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"used_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "sessions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"user_id" uuid NOT NULL,
	"generation" integer DEFAULT 0 NOT NULL,
	"user_agent" text,
	"ip" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_used_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"revoked_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "refresh_tokens" ADD CONSTRAINT "refresh_tokens_session_id_sessions_id_fk" FOREIGN KEY ("session_id") REFERENCES "public"."sessions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sessions" ADD CONSTRAINT "sessions_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "refresh_tokens_session_idx" ON "refresh_tokens" USING btree ("session_id");--> statement-breakpoint
CREATE INDEX "sessions_user_idx" ON "sessions" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "sessions_expires_idx" ON "sessions" USING btree ("expires_at");--> statement-breakpoint
-- Until now sessions lived in the KV (kv_entries) as JSON written by the server. Carry the live ones over, with their
-- refresh tokens (the live one and the used ones, so a reused token is still recognised), so this upgrade signs
-- nobody out. Only rows of exactly the shape the server wrote are read (the CASE keeps anything else unparsed).
INSERT INTO "sessions" ("id", "user_id", "generation", "user_agent", "ip", "created_at", "last_used_at", "expires_at")
SELECT substr(kv."key", 14)::uuid, u."id", (kv.v ->> 'generation')::integer, kv.v ->> 'userAgent', kv.v ->> 'ip',
  to_timestamp((kv.v ->> 'createdAt')::double precision / 1000), to_timestamp((kv.v ->> 'createdAt')::double precision / 1000),
  to_timestamp((kv.v ->> 'expiresAt')::double precision / 1000)
FROM (
  SELECT "key", CASE WHEN "value" ~ '^\{"userId":"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}","createdAt":[0-9]{1,15},"expiresAt":[0-9]{1,15},"generation":[0-9]{1,9},"userAgent":.*\}$'
    THEN "value"::jsonb END AS v
  FROM "kv_entries"
  WHERE "key" ~ '^auth:session:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' AND ("expires_at" IS NULL OR "expires_at" > now())
) kv
JOIN "users" u ON u."id"::text = kv.v ->> 'userId'
WHERE kv.v IS NOT NULL AND (kv.v ->> 'expiresAt')::double precision > extract(epoch FROM now()) * 1000
ON CONFLICT DO NOTHING;
--> statement-breakpoint
INSERT INTO "refresh_tokens" ("token_hash", "session_id", "generation", "created_at", "used_at")
SELECT kv."hash", s."id", (kv.v ->> 'generation')::integer, now(),
  CASE WHEN kv.v ->> 'usedAt' IS NOT NULL THEN to_timestamp((kv.v ->> 'usedAt')::double precision / 1000) END
FROM (
  SELECT substr("key", 14) AS "hash", CASE WHEN "value" ~ '^\{"sessionId":"[0-9a-f-]{36}","userId":"[0-9a-f-]{36}","generation":[0-9]{1,9},"expiresAt":[0-9]{1,15}\}$'
    THEN "value"::jsonb END AS v
  FROM "kv_entries" WHERE "key" ~ '^auth:refresh:[0-9a-f]{64}$'
  UNION ALL
  SELECT substr("key", 19), CASE WHEN "value" ~ '^\{"sessionId":"[0-9a-f-]{36}","userId":"[0-9a-f-]{36}","generation":[0-9]{1,9},"usedAt":[0-9]{1,15}\}$'
    THEN "value"::jsonb END
  FROM "kv_entries" WHERE "key" ~ '^auth:refresh-used:[0-9a-f]{64}$'
) kv
JOIN "sessions" s ON s."id"::text = kv.v ->> 'sessionId'
WHERE kv.v IS NOT NULL
ON CONFLICT DO NOTHING;
--> statement-breakpoint
DELETE FROM "kv_entries" WHERE "key" LIKE 'auth:session%' OR "key" LIKE 'auth:refresh%';
