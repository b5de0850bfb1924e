// The day as a timeline: where each booking's block goes. Pure functions (node tests them).
export const DAY_START = 8 * 60;   // 08:00, CLINIC.md opening hours
export const DAY_END = 17 * 60 + 30;  // 17:30
export const TURNOVER_MINUTES = 15;   // CLINIC.md: a practitioner's turnover after each session
export const PIXELS_PER_MINUTE = 1.2;

// Times come in the clinic's own offset: minutes since that wall-clock midnight, whatever the browser's zone.
export const minutesOf = (iso) => Number(iso.slice(11, 13)) * 60 + Number(iso.slice(14, 16));
export const clockTime = (iso) => iso.slice(11, 16);

// Columns in the order to show them: the signed-in practitioner's own first.
export function orderColumns(practitioners, ownId) {
  const own = practitioners.filter((p) => p.id === ownId);
  return [...own, ...practitioners.filter((p) => p.id !== ownId)];
}

// A booking's block and its turnover, in pixels from the top of the day.
export function placeBlock(booking) {
  const start = minutesOf(booking.start), end = minutesOf(booking.end);
  return {
    top: (start - DAY_START) * PIXELS_PER_MINUTE,
    height: (end - start) * PIXELS_PER_MINUTE,
    turnoverTop: (end - DAY_START) * PIXELS_PER_MINUTE,
    turnoverHeight: Math.min(TURNOVER_MINUTES, DAY_END - end) * PIXELS_PER_MINUTE,
  };
}

export const dayHeight = () => (DAY_END - DAY_START) * PIXELS_PER_MINUTE;

// Closed: a Sunday (the clinic opens Monday to Saturday) or a closure day. Gives the reason, or null.
export function closedBecause(date, closures) {
  const closure = closures.find((c) => c.date === date);
  if (closure) return `Closed: ${closure.reason}`;
  if (new Date(`${date}T12:00:00Z`).getUTCDay() === 0) return "Closed on Sundays";
  return null;
}

export function shiftDate(date, days) {
  const d = new Date(`${date}T12:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}
