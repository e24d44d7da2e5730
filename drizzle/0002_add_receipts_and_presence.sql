CREATE TYPE "public"."receipt_kind" AS ENUM('delivered', 'read');--> statement-breakpoint
CREATE TABLE "receipt_marks" (
	"room_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"kind" "receipt_kind" NOT NULL,
	"seq" bigint NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "receipt_marks_room_id_kind_user_id_seq_pk" PRIMARY KEY("room_id","kind","user_id","seq")
);
--> statement-breakpoint
ALTER TABLE "room_members" ADD COLUMN "last_delivered_seq" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "room_members" ADD COLUMN "delivered_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "room_members" ADD COLUMN "last_read_seq" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "room_members" ADD COLUMN "read_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "last_seen_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "private_receipts" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "receipt_marks" ADD CONSTRAINT "receipt_marks_room_id_rooms_id_fk" FOREIGN KEY ("room_id") REFERENCES "public"."rooms"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "receipt_marks" ADD CONSTRAINT "receipt_marks_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "messages_room_sender_seq_idx" ON "messages" USING btree ("room_id","sender_id","seq");