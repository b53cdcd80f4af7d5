import { Code, ConnectError } from "@connectrpc/connect";
import { concatPdfs, imposePdfs, type ConcatPdfSource } from "@ticketgen/shared";
import type { PrintLayout } from "@ticketgen/shared/gen/ticketgen/v1/common_pb";
import type { CardLogo } from "./card-logo.ts";
import { drawCards, type CardTicket } from "./cards.ts";
import { printPlan, type CardLayout } from "./print-layouts.ts";

/** Sheets of badges or labels drawn as one document before it is streamed out. */
const SHEETS_PER_DOCUMENT = 25;

export interface PrintSources {
  /** The stored ticket PDFs (or batch chunk documents) in print order, each fetched when reached. */
  stored: () => Iterable<ConcatPdfSource> | AsyncIterable<ConcatPdfSource>;
  /** The tickets, in print order, for the layouts drawn from their data (badges, labels). */
  cards: () => AsyncIterable<CardTicket>;
  /** The tenant's logo for badges and labels, read once when a download draws cards. */
  logo: () => Promise<CardLogo | undefined>;
  title: string;
}

/**
 * The PDF of `layout`, streamed as it is produced. Every layout holds a bounded part of the
 * output at a time: a stored document (imposed layouts: and the pages waiting for a sheet), or
 * SHEETS_PER_DOCUMENT sheets of cards.
 */
export function printPdf(layout: PrintLayout, sources: PrintSources): AsyncGenerator<Uint8Array, void, undefined> {
  const plan = printPlan(layout);
  const options = { title: sources.title };
  switch (plan.kind) {
    case "stored":
      return concatPdfs(sources.stored(), options);
    case "imposed":
      return concatPdfs(imposePdfs(sources.stored(), plan.sheet), options);
    case "cards":
      return concatPdfs(cardDocuments(sources.cards(), plan.layout, sources.logo), options);
  }
}

async function* cardDocuments(
  tickets: AsyncIterable<CardTicket>,
  layout: CardLayout,
  readLogo: () => Promise<CardLogo | undefined>,
): AsyncGenerator<Uint8Array, void, undefined> {
  const perDocument = layout.columns * layout.rows * SHEETS_PER_DOCUMENT;
  const logo = await readLogo();
  let group: CardTicket[] = [];
  let count = 0;
  for await (const ticket of tickets) {
    count++;
    group.push(ticket);
    if (group.length === perDocument) {
      yield await drawCards(group, layout, logo);
      group = [];
    }
  }
  if (group.length > 0) yield await drawCards(group, layout, logo);
  // Before any output: concatPdfs reads its first source before it writes.
  if (count === 0) throw new ConnectError("every generated ticket was revoked: no badge or label to print", Code.FailedPrecondition);
}
