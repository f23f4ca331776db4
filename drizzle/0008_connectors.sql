CREATE TABLE "daily_reads" (
	"day" date NOT NULL,
	"platform" "platform" NOT NULL,
	"external_id" text NOT NULL,
	CONSTRAINT "daily_reads_day_platform_external_id_pk" PRIMARY KEY("day","platform","external_id")
);
--> statement-breakpoint
CREATE TABLE "source_usage" (
	"source_id" text NOT NULL,
	"day" date NOT NULL,
	"platform" "platform" NOT NULL,
	"requests" bigint DEFAULT 0 NOT NULL,
	"posts_read" bigint DEFAULT 0 NOT NULL,
	"posts_charged" bigint DEFAULT 0 NOT NULL,
	"cost_micro_usd" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "source_usage_source_id_day_pk" PRIMARY KEY("source_id","day")
);
