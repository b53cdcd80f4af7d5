import { TicketStatus } from "@ticketgen/shared/gen/ticketgen/v1/ticket_pb";
import type { Context } from "../context.ts";
import { CliError } from "../errors.ts";

const POLL_MS = 500;

/**
 * Resolves once the ticket's PDF exists. The contract has no per-ticket stream (batches have
 * WatchBatch), so this polls GetTicket, which is cheap and never touches the queue.
 */
export async function untilRendered(context: Context, id: string, timeoutSeconds: number): Promise<void> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  for (;;) {
    const { ticket } = await context.tickets.getTicket({ lookup: { case: "id", value: id } });
    if (ticket?.status === TicketStatus.GENERATED) return;
    if (ticket?.status === TicketStatus.FAILED)
      throw new CliError(`ticket ${id} failed to render: ${ticket.failureReason || "no reason given"}`);
    if (ticket?.status === TicketStatus.REVOKED && !ticket.pdfSize) throw new CliError(`ticket ${id} was revoked before its PDF was drawn`);
    if (Date.now() + POLL_MS > deadline)
      throw new CliError(`ticket ${id} is still rendering after ${timeoutSeconds} s; is a render worker running?`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
