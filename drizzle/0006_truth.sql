CREATE TABLE "capture_settings" (
	"key" text PRIMARY KEY NOT NULL,
	"value" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "erased_authors" (
	"platform" "platform" NOT NULL,
	"user_hash" text NOT NULL,
	"erased_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "erased_authors_platform_user_hash_pk" PRIMARY KEY("platform","user_hash")
);
