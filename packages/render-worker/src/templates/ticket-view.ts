import type { RenderTicketJob } from "@ticketgen/shared";
import type { TemplateView } from "./sandbox/protocol.ts";

/** A render job with its template version (0 = built-in template). */
export type TicketRenderJob = RenderTicketJob & { templateVersion: number };

/** The fields of a job the view reads (a RenderTicketJob, with or without templateVersion). */
export type TicketViewJob = Pick<RenderTicketJob, "ticketCode" | "locale" | "event" | "guest" | "ticketType">;

/** The view fields a template reads: plain data, so that it can travel to a template thread. */
export type TicketView = TemplateView;

const DEFAULT_LOCALE = "en";
const NBSP = "\u00a0";

/** A BCP 47 locale Intl accepts ("fr_CA" → "fr-CA"), or "en" when empty or invalid. */
export function normalizeLocale(locale: string | undefined): string {
  const candidate = (locale ?? "").trim().replaceAll("_", "-");
  if (!candidate) return DEFAULT_LOCALE;
  try {
    const [canonical] = Intl.getCanonicalLocales(candidate);
    return canonical ?? DEFAULT_LOCALE;
  } catch {
    return DEFAULT_LOCALE;
  }
}

/** The language a ticket is written in: its locale as Intl resolves it ("fr-CA", "de"; "en" for an unknown one). */
export function ticketLanguage(locale: string | undefined): string {
  return new Intl.DateTimeFormat([normalizeLocale(locale), DEFAULT_LOCALE]).resolvedOptions().locale;
}

function validTimeZone(timeZone: string | undefined): string {
  if (!timeZone) return "UTC";
  try {
    new Intl.DateTimeFormat("en", { timeZone });
    return timeZone;
  } catch {
    // Shown as "UTC" on the ticket: explicit, so never silently a wrong local time.
    return "UTC";
  }
}

function parseDate(value: string, field: string): Date {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new RangeError(`${field} is not a valid date: ${JSON.stringify(value)}`);
  return date;
}

const DAY: Intl.DateTimeFormatOptions = { weekday: "long", year: "numeric", month: "long", day: "numeric" };
const TIME: Intl.DateTimeFormatOptions = { hour: "numeric", minute: "2-digit" };
const ZONE: Intl.DateTimeFormatOptions = { timeZoneName: "short" };

/** Formats dates in one locale and time zone, with French typographic conventions. */
class DateFormatter {
  private readonly french: boolean;
  private readonly formats = new Map<string, Intl.DateTimeFormat>();

  constructor(
    readonly locale: string,
    readonly timeZone: string,
  ) {
    this.french = locale === "fr" || locale.startsWith("fr-");
  }

  format(date: Date, options: Intl.DateTimeFormatOptions): string {
    const key = JSON.stringify(options);
    let format = this.formats.get(key);
    if (!format) {
      format = new Intl.DateTimeFormat([this.locale, DEFAULT_LOCALE], { ...options, timeZone: this.timeZone });
      this.formats.set(key, format);
    }
    if (!this.french) return format.format(date);
    // French: "1er mars", "19 h 30", "23 h" (non-breaking spaces), as the Imprimerie nationale and OQLF write them.
    const parts = format.formatToParts(date);
    let text = "";
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      const next = parts[i + 1];
      if (part.type === "day" && part.value === "1") text += "1er";
      else if (part.type === "hour" && next?.type === "literal" && parts[i + 2]?.type === "minute") {
        const minute = parts[i + 2]!.value;
        text += minute === "00" ? `${Number(part.value)}${NBSP}h` : `${Number(part.value)}${NBSP}h${NBSP}${minute}`;
        i += 2;
      } else text += part.value;
    }
    return text;
  }

  /** The short zone name or offset at that instant ("GMT+1", "CET", "UTC+1", "EST"). */
  zoneName(date: Date): string {
    const format = new Intl.DateTimeFormat([this.locale, DEFAULT_LOCALE], { ...ZONE, timeZone: this.timeZone });
    return format.formatToParts(date).find((part) => part.type === "timeZoneName")?.value ?? this.timeZone;
  }

  /** Local calendar day, to tell whether two instants fall on the same date at the venue. */
  dayKey(date: Date): string {
    return this.format(date, { year: "numeric", month: "2-digit", day: "2-digit", calendar: "iso8601", numberingSystem: "latn" });
  }
}

/**
 * The variables a ticket template sees: eventName, eventDate, location, firstName, lastName,
 * email, ticketType, ticketCode, qrCode (SVG, inserted unescaped: see MARKUP_FIELDS), generatedAt,
 * plus eventDay, eventTime, eventStartTime, eventEndTime, eventEndDate, eventEndsOnOtherDay,
 * timezone, timeZoneName, locale, lang and guestName. Dates are written in the event's time zone
 * and the ticket's locale, always with the zone (offset) so a guest abroad is not misled.
 */
export function ticketView(job: TicketViewJob, qrCodeSvg: string, now: Date): TicketView {
  const locale = normalizeLocale(job.locale);
  const timezone = validTimeZone(job.event.timezone);
  const f = new DateFormatter(locale, timezone);
  const resolvedLocale = ticketLanguage(locale);

  const startsAt = parseDate(job.event.startsAt, "event.startsAt");
  const endsAt = job.event.endsAt ? parseDate(job.event.endsAt, "event.endsAt") : undefined;
  const endsOnOtherDay = endsAt !== undefined && f.dayKey(endsAt) !== f.dayKey(startsAt);
  const timeZoneName = f.zoneName(startsAt);
  const startTime = f.format(startsAt, TIME);
  const endTime = endsAt ? f.format(endsAt, TIME) : "";
  const sameDayEnd = endsAt !== undefined && !endsOnOtherDay && endsAt.getTime() > startsAt.getTime();

  return {
    eventName: job.event.name,
    eventDate: f.format(startsAt, { ...DAY, ...TIME, ...ZONE }),
    eventDay: f.format(startsAt, DAY),
    eventTime: endsAt && sameDayEnd ? `${startTime} – ${f.format(endsAt, { ...TIME, ...ZONE })}` : f.format(startsAt, { ...TIME, ...ZONE }),
    eventStartTime: startTime,
    eventEndTime: endTime,
    eventEndDate: endsAt ? f.format(endsAt, { ...DAY, ...TIME, ...ZONE }) : "",
    eventEndsOnOtherDay: endsOnOtherDay,
    location: job.event.location,
    timezone,
    timeZoneName,
    firstName: job.guest.firstName,
    lastName: job.guest.lastName,
    guestName: [job.guest.firstName, job.guest.lastName].filter(Boolean).join(" "),
    email: job.guest.email,
    ticketType: job.ticketType.name,
    ticketCode: job.ticketCode,
    qrCode: qrCodeSvg,
    generatedAt: f.format(now, { year: "numeric", month: "long", day: "numeric", ...TIME, ...ZONE }),
    locale: resolvedLocale,
    lang: resolvedLocale,
  };
}
