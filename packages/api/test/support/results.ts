/** A worker's "generated" outcome for tenant "default", applied by hand where no worker runs. */
export const generatedResult = (ticketId: string) => ({
  outcome: "generated" as const,
  tenantId: "default",
  ticketId,
  pdfKey: "tickets/x.pdf",
  pdfSize: 1,
  pdfSha256: "0".repeat(64),
  generatedAt: new Date().toISOString(),
  renderMs: 1,
});
