DROP INDEX "social_posts_case_idx";--> statement-breakpoint
DROP INDEX "social_posts_lead_idx";--> statement-breakpoint
CREATE INDEX "social_posts_case_idx" ON "social_posts" USING btree ("case_id","id") WHERE "social_posts"."case_id" is not null;--> statement-breakpoint
CREATE INDEX "social_posts_lead_idx" ON "social_posts" USING btree ("lead_id","id") WHERE "social_posts"."lead_id" is not null;