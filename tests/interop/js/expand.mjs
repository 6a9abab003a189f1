// Expands an iCalendar file the way Mozilla's ical.js (Thunderbird's web relatives, many web calendars) does.
//
// Reads the .ics from stdin; prints {"occurrences": [{"start": "...Z", "end": "...Z"}, ...]} in UTC.
// Every VTIMEZONE of the file is registered first, since ical.js resolves a TZID only against registered zones;
// a TZID it cannot resolve is an error rather than a silent floating (local) time.
import { readFileSync } from "node:fs";
import ICAL from "ical.js";

const MAX_OCCURRENCES = 1000;

const calendar = new ICAL.Component(ICAL.parse(readFileSync(0, "utf8")));
for (const vtimezone of calendar.getAllSubcomponents("vtimezone")) {
  ICAL.TimezoneService.register(vtimezone);
}

const vevents = calendar.getAllSubcomponents("vevent");
const masters = vevents.filter((vevent) => !vevent.hasProperty("recurrence-id"));
if (masters.length !== 1) {
  throw new Error(`expected one master VEVENT, found ${masters.length}`);
}
const event = new ICAL.Event(masters[0]);
for (const vevent of vevents) {
  if (vevent.hasProperty("recurrence-id")) {
    event.relateException(vevent);
  }
}

function utc(time, what) {
  const tzid = time.timezone;
  if (tzid && tzid !== "Z" && tzid !== "UTC" && !ICAL.TimezoneService.has(tzid)) {
    throw new Error(`${what} names TZID ${tzid}, which no VTIMEZONE defines`);
  }
  return time.toJSDate().toISOString().replace(".000Z", "Z");
}

const occurrences = [];
if (event.isRecurring()) {
  const iterator = event.iterator();
  for (let next = iterator.next(); next; next = iterator.next()) {
    if (occurrences.length >= MAX_OCCURRENCES) {
      throw new Error("the recurrence does not end");
    }
    const details = event.getOccurrenceDetails(next);
    occurrences.push({ start: utc(details.startDate, "start"), end: utc(details.endDate, "end") });
  }
} else {
  occurrences.push({ start: utc(event.startDate, "DTSTART"), end: utc(event.endDate, "DTEND") });
}
process.stdout.write(JSON.stringify({ occurrences }) + "\n");
