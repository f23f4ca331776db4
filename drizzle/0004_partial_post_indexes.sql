DROP INDEX "social_posts_status_idx";--> statement-breakpoint
DROP INDEX "social_posts_conversation_idx";--> statement-breakpoint
DROP INDEX "social_posts_case_idx";--> statement-breakpoint
DROP INDEX "social_posts_lead_idx";--> statement-breakpoint
CREATE INDEX "social_posts_unsettled_idx" ON "social_posts" USING btree ("status","id") WHERE "social_posts"."status" <> 'processed';--> statement-breakpoint
CREATE INDEX "social_posts_case_thread_idx" ON "social_posts" USING btree ("platform","conversation_id") WHERE "social_posts"."case_id" is not null;--> statement-breakpoint
CREATE INDEX "social_posts_case_idx" ON "social_posts" USING btree ("case_id") WHERE "social_posts"."case_id" is not null;--> statement-breakpoint
CREATE INDEX "social_posts_lead_idx" ON "social_posts" USING btree ("lead_id") WHERE "social_posts"."lead_id" is not null;