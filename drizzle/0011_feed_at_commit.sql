-- Events are numbered in commit order as they are inserted (src/db/outbox.repo.ts): number the ones
-- a sequencer had not reached yet, in insertion order, after every number given so far.
UPDATE "events" e SET "feed_position" = base.b + todo.rn
FROM (SELECT "id", row_number() OVER (ORDER BY "position") AS rn FROM "events" WHERE "feed_position" IS NULL) todo,
     (SELECT coalesce(max("feed_position"), 0) AS b FROM "events") base
WHERE e."id" = todo."id";--> statement-breakpoint
DROP INDEX "events_unsequenced_idx";--> statement-breakpoint
ALTER TABLE "events" ALTER COLUMN "feed_position" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "events" DROP COLUMN "position";
