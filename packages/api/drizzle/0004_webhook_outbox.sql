CREATE TABLE "webhook_outbox" (
	"id" text PRIMARY KEY NOT NULL,
	"tenant_id" text NOT NULL,
	"type" text NOT NULL,
	"data" jsonb NOT NULL,
	"occurred_at" timestamp with time zone NOT NULL,
	"checked_at" timestamp with time zone NOT NULL,
	"delivered_at" timestamp with time zone,
	"gave_up_at" timestamp with time zone
);
--> statement-breakpoint
CREATE INDEX "webhook_outbox_due" ON "webhook_outbox" USING btree ("checked_at") WHERE "webhook_outbox"."delivered_at" is null and "webhook_outbox"."gave_up_at" is null;--> statement-breakpoint
CREATE INDEX "webhook_outbox_delivered_at" ON "webhook_outbox" USING btree ("delivered_at") WHERE "webhook_outbox"."delivered_at" is not null;--> statement-breakpoint
CREATE INDEX "webhook_outbox_gave_up_at" ON "webhook_outbox" USING btree ("gave_up_at") WHERE "webhook_outbox"."gave_up_at" is not null;