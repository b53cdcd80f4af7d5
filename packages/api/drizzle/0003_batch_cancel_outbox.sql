ALTER TABLE "batches" ADD COLUMN "cancel_propagated_at" timestamp with time zone;--> statement-breakpoint
-- Batches cancelled before this migration told their workers in the same call.
UPDATE "batches" SET "cancel_propagated_at" = "completed_at" WHERE "status" = 'CANCELLED';--> statement-breakpoint
CREATE INDEX "batches_cancel_unpropagated" ON "batches" USING btree ("completed_at") WHERE "batches"."status" = 'CANCELLED' and "batches"."cancel_propagated_at" is null;
