CREATE TABLE "room_events" (
	"room_id" uuid NOT NULL,
	"seq" bigint NOT NULL,
	"type" text NOT NULL,
	"actor_id" uuid,
	"message_id" uuid,
	"data" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "room_events_room_id_seq_pk" PRIMARY KEY("room_id","seq")
);
--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "main_ordinal" bigint;--> statement-breakpoint
ALTER TABLE "rooms" ADD COLUMN "epoch" integer DEFAULT (floor(random() * 2147483647))::integer NOT NULL;--> statement-breakpoint
ALTER TABLE "rooms" ADD COLUMN "main_count" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "room_events" ADD CONSTRAINT "room_events_room_id_rooms_id_fk" FOREIGN KEY ("room_id") REFERENCES "public"."rooms"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "room_events" ADD CONSTRAINT "room_events_actor_id_users_id_fk" FOREIGN KEY ("actor_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
-- Deferred (hand-edited): a batch inserts its messages and their log events in statements pipelined together.
ALTER TABLE "room_events" ADD CONSTRAINT "room_events_message_id_messages_id_fk" FOREIGN KEY ("message_id") REFERENCES "public"."messages"("id") ON DELETE cascade ON UPDATE no action DEFERRABLE INITIALLY DEFERRED;--> statement-breakpoint
CREATE INDEX "room_events_message_idx" ON "room_events" USING btree ("message_id");--> statement-breakpoint
CREATE INDEX "messages_room_main_seq_idx" ON "messages" USING btree ("room_id","seq") WHERE "messages"."main_ordinal" is not null;--> statement-breakpoint
CREATE UNIQUE INDEX "messages_room_main_ordinal_idx" ON "messages" USING btree ("room_id","main_ordinal") WHERE "messages"."main_ordinal" is not null;--> statement-breakpoint
-- Hand-written: a database written before the event log comes up with the same history. Every seq was a message
-- then, so the log is exactly one message.created per message, and every message is on the main timeline.
INSERT INTO "room_events" ("room_id", "seq", "type", "actor_id", "message_id", "created_at")
  SELECT "room_id", "seq", 'message.created', "sender_id", "id", "created_at" FROM "messages";--> statement-breakpoint
UPDATE "messages" SET "main_ordinal" = ordered.ordinal
  FROM (SELECT "id", row_number() OVER (PARTITION BY "room_id" ORDER BY "seq") AS ordinal FROM "messages") AS ordered
  WHERE "messages"."id" = ordered."id";--> statement-breakpoint
UPDATE "rooms" SET "main_count" = (SELECT count(*) FROM "messages" WHERE "messages"."room_id" = "rooms"."id");
