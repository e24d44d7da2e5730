DROP TABLE "kv_entries" CASCADE;--> statement-breakpoint
ALTER TABLE "rooms" ADD COLUMN "member_count" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
-- Hand-written (drizzle-kit does not generate triggers): rooms.member_count follows room_members, whatever adds or
-- removes a row (a join, a kick, a cascade from a deleted user), in the same transaction.
UPDATE "rooms" SET "member_count" = (SELECT count(*) FROM "room_members" WHERE "room_members"."room_id" = "rooms"."id");--> statement-breakpoint
CREATE FUNCTION "room_members_count"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    UPDATE "rooms" SET "member_count" = "member_count" + 1 WHERE "id" = NEW."room_id";
    RETURN NEW;
  ELSE
    UPDATE "rooms" SET "member_count" = "member_count" - 1 WHERE "id" = OLD."room_id";
    RETURN OLD;
  END IF;
END;
$$;--> statement-breakpoint
CREATE TRIGGER "room_members_count" AFTER INSERT OR DELETE ON "room_members" FOR EACH ROW EXECUTE FUNCTION "room_members_count"();
