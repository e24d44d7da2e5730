-- Postgres cannot use an enum value in the transaction that added it, and drizzle applies every pending migration in
-- one transaction: no later migration may use 'moderator' (in data or a default) when applied in the same run as this one.
ALTER TYPE "public"."member_role" ADD VALUE 'moderator' BEFORE 'member';
