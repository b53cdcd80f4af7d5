/** Queue names and job payloads shared by the API (producer) and the render workers. */
export const RENDER_QUEUE = "render";
export const RENDER_TICKET_JOB = "render-ticket";

/** Priority of interactive single tickets; batch chunks use larger (later) numbers. */
export const SINGLE_TICKET_PRIORITY = 1;

export interface EventSnapshot {
  id: string;
  name: string;
  startsAt: string;
  endsAt: string | null;
  location: string;
  timezone: string;
}

export interface GuestSnapshot {
  id: string;
  firstName: string;
  lastName: string;
  email: string;
}

export interface TicketTypeSnapshot {
  id: string;
  name: string;
}

/** Everything a worker needs to draw one ticket: workers hold no database credentials. */
export interface RenderTicketJob {
  tenantId: string;
  ticketId: string;
  ticketCode: string;
  qrPayload: string;
  templateId: string;
  locale: string;
  event: EventSnapshot;
  guest: GuestSnapshot;
  ticketType: TicketTypeSnapshot;
  createdAt: string;
}
