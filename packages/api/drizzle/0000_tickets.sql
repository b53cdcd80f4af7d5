CREATE TYPE "public"."ticket_status" AS ENUM('PENDING', 'GENERATED', 'FAILED', 'REVOKED');--> statement-breakpoint
CREATE TABLE "tickets" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenant_id" text NOT NULL,
	"ticket_code" text NOT NULL,
	"event_id" text NOT NULL,
	"guest_id" text NOT NULL,
	"ticket_type_id" text NOT NULL,
	"batch_id" uuid,
	"status" "ticket_status" DEFAULT 'PENDING' NOT NULL,
	"qr_payload" text NOT NULL,
	"template_id" text NOT NULL,
	"locale" text NOT NULL,
	"event" jsonb NOT NULL,
	"guest" jsonb NOT NULL,
	"ticket_type" jsonb NOT NULL,
	"idempotency_key" text,
	"request_hash" text,
	"pdf_size" bigint,
	"pdf_sha256" text,
	"failure_reason" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"generated_at" timestamp with time zone,
	"valid_until" timestamp with time zone NOT NULL,
	"redeemed_at" timestamp with time zone,
	"revoked_at" timestamp with time zone,
	"revocation_reason" text
);
--> statement-breakpoint
CREATE UNIQUE INDEX "tickets_ticket_code_key" ON "tickets" USING btree ("ticket_code");--> statement-breakpoint
CREATE UNIQUE INDEX "tickets_tenant_idempotency_key" ON "tickets" USING btree ("tenant_id","idempotency_key") WHERE "tickets"."idempotency_key" is not null;--> statement-breakpoint
CREATE INDEX "tickets_tenant_event_id" ON "tickets" USING btree ("tenant_id","event_id","id");--> statement-breakpoint
CREATE INDEX "tickets_pending_created_at" ON "tickets" USING btree ("created_at") WHERE "tickets"."status" = 'PENDING';