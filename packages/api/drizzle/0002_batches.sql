CREATE TYPE "public"."batch_status" AS ENUM('PROCESSING', 'COMPLETED', 'FAILED', 'CANCELLED');--> statement-breakpoint
CREATE TABLE "batches" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenant_id" text NOT NULL,
	"event_id" text NOT NULL,
	"status" "batch_status" DEFAULT 'PROCESSING' NOT NULL,
	"total_count" integer NOT NULL,
	"completed_count" integer DEFAULT 0 NOT NULL,
	"failed_count" integer DEFAULT 0 NOT NULL,
	"chunk_size" integer NOT NULL,
	"idempotency_key" text,
	"request_hash" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"completed_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "tickets" ADD COLUMN "batch_position" integer;--> statement-breakpoint
CREATE UNIQUE INDEX "batches_tenant_idempotency_key" ON "batches" USING btree ("tenant_id","idempotency_key") WHERE "batches"."idempotency_key" is not null;--> statement-breakpoint
CREATE INDEX "batches_processing_created_at" ON "batches" USING btree ("created_at") WHERE "batches"."status" = 'PROCESSING';--> statement-breakpoint
CREATE INDEX "tickets_batch_position" ON "tickets" USING btree ("batch_id","batch_position") WHERE "tickets"."batch_id" is not null;