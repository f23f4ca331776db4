ALTER TABLE "source_cursors" ADD COLUMN "blocked_until" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "source_cursors" ADD COLUMN "next_poll_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "source_cursors" ADD COLUMN "consecutive_failures" integer DEFAULT 0 NOT NULL;