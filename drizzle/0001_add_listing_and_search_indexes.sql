DROP INDEX "rooms_public_name_idx";--> statement-breakpoint
CREATE INDEX "room_members_room_joined_idx" ON "room_members" USING btree ("room_id","joined_at","user_id");--> statement-breakpoint
CREATE INDEX "rooms_public_name_id_idx" ON "rooms" USING btree ("name","id") WHERE "rooms"."kind" = 'public';--> statement-breakpoint
CREATE INDEX "users_username_prefix_idx" ON "users" USING btree (lower("username") text_pattern_ops);--> statement-breakpoint
CREATE INDEX "users_display_name_prefix_idx" ON "users" USING btree (lower("display_name") text_pattern_ops);