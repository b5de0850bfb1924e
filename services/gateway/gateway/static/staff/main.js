// The staff workspace: sign-in, the day's timeline, clearance, closures, failed messages, members, audit.
// Talks only to the gateway's public API; what each role sees follows the role matrix (API.md).
import { allPages, api, problemText, session } from "./api.js";
import { clockTime, closedBecause, dayHeight, DAY_END, DAY_START, orderColumns, PIXELS_PER_MINUTE,
         placeBlock, shiftDate } from "./timeline.js";

const $ = (id) => document.getElementById(id);
const el = (tag, text, className) => {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = text;
  if (className) node.className = className;
  return node;
};
const ROLE_MAY = {  // which tabs a role sees; the services enforce the same matrix
  clearance: ["admin", "practitioner"], staff_members: ["admin"], audit: ["admin"],
};
const state = { me: null, practitioners: [], closures: [], day: null, booking: null, auditCursor: null };

function say(id, text, info = false) {
  const box = $(id);
  box.textContent = text || "";
  box.hidden = !text;
  box.classList.toggle("info", info);
}
const sayProblem = (id, problem) => say(id, problemText(problem));

// ----- signing in and out -------------------------------------------------------------------
async function start() {
  if (session.token) {
    try { state.me = await api("/api/staff/me"); } catch { session.token = null; }
  }
  if (state.me) return enterWorkspace();
  $("workspace").hidden = true;
  $("who").hidden = $("sign-out").hidden = true;
  $("sign-in").hidden = false;
  $("sign-in-email").focus();
}

$("sign-in").addEventListener("submit", async (event) => {
  event.preventDefault();
  say("sign-in-message", "");
  try {
    const signed = await api("/api/staff/sessions", { method: "POST",
      body: { email: $("sign-in-email").value.trim(), password: $("sign-in-password").value } });
    session.token = signed.token;
    state.me = { ...signed.staff, active: true };
    $("sign-in-password").value = "";
    enterWorkspace();
  } catch (problem) {
    say("sign-in-message", problem.status === 429
      ? `Too many failed attempts. Try again in ${Math.ceil(Number(problem.retryAfter || 60) / 60)} minute(s).`
      : problemText(problem));
  }
});

$("sign-out").addEventListener("click", async () => {
  try { await api("/api/staff/sessions/current", { method: "DELETE" }); } catch { /* signed out anyway */ }
  session.token = null;
  state.me = null;
  start();
});

async function enterWorkspace() {
  $("sign-in").hidden = true;
  $("workspace").hidden = false;
  $("who").hidden = $("sign-out").hidden = false;
  $("who").textContent = `${state.me.name} (${state.me.role})`;
  for (const tab of document.querySelectorAll("#tabs button")) {
    const permission = tab.dataset.permission;
    tab.hidden = Boolean(permission) && !ROLE_MAY[permission].includes(state.me.role);
  }
  try { state.practitioners = (await api("/api/practitioners")).practitioners; } catch (p) { sayProblem("day-message", p); }
  $("day-date").value = state.day || new Date().toISOString().slice(0, 10);
  show("day");
}

// ----- tabs ---------------------------------------------------------------------------------
const LOADERS = { day: loadDay, clearance: loadClearance, closures: loadClosures, failed: loadFailed,
                  members: loadMembers, audit: () => loadAudit(false) };

function show(view) {
  for (const tab of document.querySelectorAll("#tabs button")) {
    if (tab.dataset.view === view) tab.setAttribute("aria-current", "page"); else tab.removeAttribute("aria-current");
  }
  for (const section of document.querySelectorAll(".view")) section.hidden = section.id !== `view-${view}`;
  LOADERS[view]();
}
$("tabs").addEventListener("click", (event) => {
  const tab = event.target.closest("button[data-view]");
  if (tab) { show(tab.dataset.view); $(`${tab.dataset.view}-title`).focus(); }
});

// ----- the day ------------------------------------------------------------------------------
$("day-date").addEventListener("change", () => loadDay());
$("day-previous").addEventListener("click", () => { $("day-date").value = shiftDate($("day-date").value, -1); loadDay(); });
$("day-next").addEventListener("click", () => { $("day-date").value = shiftDate($("day-date").value, 1); loadDay(); });

async function loadDay() {
  const date = $("day-date").value;
  if (!date) return;
  state.day = date;
  say("day-message", "");
  if (state.booking && state.booking.start.slice(0, 10) !== date) $("booking-details").hidden = true;  // another day's
  const timeline = $("timeline");
  let bookings;
  try {
    [bookings, state.closures] = await Promise.all([
      allPages(`/api/bookings?date=${date}&limit=1000`, "bookings"),
      api("/api/closures").then((r) => r.closures)]);
  } catch (problem) { timeline.replaceChildren(); return sayProblem("day-message", problem); }
  if ($("day-date").value !== date) return;  // another day was asked for meanwhile: its answer draws
  $("day-title").textContent = new Date(`${date}T12:00:00Z`).toLocaleDateString("en-GB",
    { weekday: "long", day: "numeric", month: "long", year: "numeric", timeZone: "UTC" });
  const closed = closedBecause(date, state.closures);
  const columns = orderColumns(state.practitioners, state.me.practitioner_id);
  timeline.style.setProperty("--columns", columns.length);
  const parts = [el("div", "", "head")];
  for (const p of columns) parts.push(Object.assign(el("div", p.name, "head"), { id: `column-head-${p.id}` }));
  if (closed) {
    parts.push(el("div", closed, "closed"));
    timeline.replaceChildren(...parts);
    return;
  }
  const hours = el("div", null, "hours");
  hours.style.height = `${dayHeight()}px`;
  for (let m = DAY_START; m <= DAY_END; m += 60) {
    const label = el("span", `${String(m / 60).padStart(2, "0")}:00`);
    label.style.top = `${(m - DAY_START) * PIXELS_PER_MINUTE}px`;
    hours.append(label);
  }
  parts.push(hours);
  for (const p of columns) {
    const column = el("div", null, "column");
    column.dataset.practitioner = p.id;
    column.setAttribute("role", "group");
    column.setAttribute("aria-labelledby", `column-head-${p.id}`);
    column.style.height = `${dayHeight()}px`;
    for (const b of bookings.filter((x) => x.practitioner.id === p.id && x.status !== "cancelled")) {
      const place = placeBlock(b);
      const block = el("button", null, `block ${b.type} ${b.status}`);
      block.type = "button";
      block.dataset.booking = b.id;
      block.style.top = `${place.top}px`;
      block.style.height = `${place.height}px`;
      block.append(el("strong", `${clockTime(b.start)}–${clockTime(b.end)}`), el("br"),
                   `${b.reference} · ${b.type === "consultation" ? "consultation" : b.areas.join(", ")}`);
      block.setAttribute("aria-label", `${clockTime(b.start)} to ${clockTime(b.end)}, ${b.reference}, ${b.type}, ${b.status}`);
      block.addEventListener("click", () => openBooking(b.id));
      const turnover = el("div", null, "turnover");
      turnover.style.top = `${place.turnoverTop}px`;
      turnover.style.height = `${place.turnoverHeight}px`;
      turnover.title = "Turnover";
      column.append(block, turnover);
    }
    parts.push(column);
  }
  timeline.replaceChildren(...parts);
}

// ----- one booking --------------------------------------------------------------------------
async function openBooking(id) {
  say("details-message", "");
  let booking, messages;
  try {
    [booking, messages] = await Promise.all([api(`/api/bookings/${id}`),
      allPages(`/api/notifications?booking_id=${id}`, "notifications")]);
  } catch (problem) { return sayProblem("day-message", problem); }
  state.booking = booking;
  const rows = [["Reference", booking.reference], ["Status", booking.status], ["Type", booking.type],
    ["Areas", booking.areas.join(", ") || "–"], ["When", `${booking.start.slice(0, 10)} ${clockTime(booking.start)}–${clockTime(booking.end)}`],
    ["Practitioner", booking.practitioner.name], ["Client", messages[0] ? messages[0].to : booking.client_id]];
  $("details-list").replaceChildren(...rows.flatMap(([k, v]) => [el("dt", k), el("dd", v)]));
  $("details-messages").replaceChildren(...(messages.length ? messages.map((m) =>
    el("li", `${m.kind}: ${m.status} (${m.send_at.slice(0, 10)} ${clockTime(m.send_at)})`)) : [el("li", "None yet.")]));
  $("details-actions").hidden = booking.status !== "confirmed";
  $("reschedule-date").value = booking.start.slice(0, 10);
  $("reschedule-slot").replaceChildren();
  $("reschedule-slot").disabled = $("reschedule-booking").disabled = true;
  $("booking-details").hidden = false;
  $("details-title").textContent = `Booking ${booking.reference}`;
  $("details-title").focus();
}

async function act(path, body) {
  try {
    await api(path, { method: "POST", body });
    await loadDay();
    await openBooking(state.booking.id);
    say("details-message", "Done.", true);
  } catch (problem) { sayProblem("details-message", problem); }
}
$("complete-booking").addEventListener("click", () => act(`/api/bookings/${state.booking.id}/complete`, {}));
$("cancel-booking").addEventListener("click", () => {
  const reason = $("cancel-reason").value.trim();
  act(`/api/bookings/${state.booking.id}/cancel`, reason ? { reason } : {});
});
$("reschedule-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const b = state.booking;
  const what = b.type === "consultation" ? "type=consultation" : `areas=${b.areas.join(",")}`;
  try {
    const { slots } = await api(`/api/availability?date=${$("reschedule-date").value}&${what}`);
    $("reschedule-slot").replaceChildren(...slots.map((s) => Object.assign(el("option", clockTime(s.start)), { value: s.start })));
    $("reschedule-slot").disabled = $("reschedule-booking").disabled = !slots.length;
    say("details-message", slots.length ? "" : "No free time that day.", true);
  } catch (problem) { sayProblem("details-message", problem); }
});
$("reschedule-booking").addEventListener("click", () =>
  act(`/api/bookings/${state.booking.id}/reschedule`, { start: $("reschedule-slot").value }));
$("close-details").addEventListener("click", () => { $("booking-details").hidden = true; $("timeline").focus(); });

// ----- clearance queue ----------------------------------------------------------------------
async function loadClearance() {
  say("clearance-message", "");
  let screenings;
  try { screenings = await allPages("/api/screenings?outcome=consultation_required", "screenings"); }
  catch (problem) { return sayProblem("clearance-message", problem); }
  if (!screenings.length) say("clearance-message", "Nobody is waiting for clearance.", true);
  $("clearance-list").replaceChildren(...screenings.map((s) => {
    const item = el("li");
    item.dataset.screening = s.id;
    item.append(el("h3", `${s.client.name} · ${s.areas.join(", ")}`),
                el("p", `Screened ${s.created_at.slice(0, 10)}; ${s.client.email}`));
    const reasons = el("ul");
    reasons.append(...s.reasons.map((r) => el("li", r.message)));
    const answers = el("div", null, "answers");
    for (const [question, answer] of Object.entries(s.answers || {})) {
      answers.append(el("span", `${question.replaceAll("_", " ")}: ${answer === true ? "yes" : answer === false ? "no" : answer}`,
                        answer === true ? "yes" : ""));
    }
    const noteId = `note-${s.id}`;
    const note = Object.assign(el("textarea"), { id: noteId });
    const message = Object.assign(el("p", null, "message"), { hidden: true });
    message.setAttribute("role", "alert");
    const decide = (decision) => async () => {
      try {
        await api(`/api/screenings/${s.id}/clearance`, { method: "POST", body: { decision, note: note.value.trim() || null } });
        await loadClearance();
        say("clearance-message", `${s.client.name}: ${decision}.`, true);
      } catch (problem) { message.textContent = problemText(problem); message.hidden = false; }
    };
    const approve = el("button", "Approve");
    const decline = el("button", "Decline", "danger");
    approve.type = decline.type = "button";
    approve.addEventListener("click", decide("approved"));
    decline.addEventListener("click", decide("declined"));
    item.append(el("h4", "Why a consultation"), reasons, el("h4", "Answers"), answers,
                Object.assign(el("label", "Note"), { htmlFor: noteId }), note, message, approve, " ", decline);
    return item;
  }));
}

// ----- closures -----------------------------------------------------------------------------
async function loadClosures() {
  try {
    const { closures } = await api("/api/closures");
    $("closures-list").replaceChildren(...closures.map((c) => {
      const remove = el("button", "Remove", "secondary");
      remove.type = "button";
      remove.setAttribute("aria-label", `Remove the closure on ${c.date}`);
      remove.addEventListener("click", async () => {
        try { await api(`/api/closures/${c.date}`, { method: "DELETE" }); say("closures-message", ""); loadClosures(); }
        catch (problem) { sayProblem("closures-message", problem); }
      });
      const item = el("li");
      item.append(el("strong", c.date), el("span", c.reason), remove);
      return item;
    }));
  } catch (problem) { sayProblem("closures-message", problem); }
}
$("closure-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    await api("/api/closures", { method: "POST", body: { date: $("closure-date").value, reason: $("closure-reason").value.trim() } });
    say("closures-message", `Closed on ${$("closure-date").value}.`, true);
    event.target.reset();
    loadClosures();
  } catch (problem) { sayProblem("closures-message", problem); }
});

// ----- failed messages ----------------------------------------------------------------------
async function loadFailed() {
  try {
    const notifications = await allPages("/api/notifications?status=failed", "notifications");
    if (!notifications.length) say("failed-message", "No message has failed.", true); else say("failed-message", "");
    $("failed-list").replaceChildren(...notifications.map((n) => {
      const retry = el("button", "Retry");
      retry.type = "button";
      retry.setAttribute("aria-label", `Retry the ${n.kind} message to ${n.to}`);
      retry.addEventListener("click", async () => {
        try { await api(`/api/notifications/${n.id}/retry`, { method: "POST", body: {} }); loadFailed(); }
        catch (problem) { sayProblem("failed-message", problem); }
      });
      const item = el("li");
      item.append(el("strong", n.kind), el("span", n.to), el("span", `${n.attempts} attempt(s)`), retry);
      return item;
    }));
  } catch (problem) { sayProblem("failed-message", problem); }
}

// ----- staff members ------------------------------------------------------------------------
async function loadMembers() {
  const select = $("member-practitioner");
  select.replaceChildren(el("option", "none"), ...state.practitioners.map((p) => Object.assign(el("option", p.name), { value: p.id })));
  select.firstChild.value = "";
  try {
    const { members } = await api("/api/staff/members");
    $("members-list").replaceChildren(...members.map((m) => {
      const row = el("tr");
      const toggle = el("button", m.active ? "Make inactive" : "Make active", "secondary");
      toggle.type = "button";
      toggle.setAttribute("aria-label", `${m.active ? "Make inactive" : "Make active"}: ${m.name}`);
      toggle.addEventListener("click", async () => {
        try { await api(`/api/staff/members/${m.id}`, { method: "PATCH", body: { active: !m.active } }); loadMembers(); }
        catch (problem) { sayProblem("members-message", problem); }
      });
      const cell = el("td");
      cell.append(toggle);
      row.append(el("td", m.name), el("td", m.email), el("td", m.role), el("td", m.active ? "yes" : "no"), cell);
      return row;
    }));
  } catch (problem) { sayProblem("members-message", problem); }
}
$("member-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const body = { name: $("member-name").value.trim(), email: $("member-email").value.trim(),
                 role: $("member-role").value, password: $("member-password").value };
  if ($("member-practitioner").value) body.practitioner_id = $("member-practitioner").value;
  try {
    const member = await api("/api/staff/members", { method: "POST", body });
    say("members-message", `${member.name} can now sign in.`, true);
    event.target.reset();
    loadMembers();
  } catch (problem) { sayProblem("members-message", problem); }
});

// ----- audit --------------------------------------------------------------------------------
const ACTIONS = ["staff.signed_in", "staff.sign_in_failed", "staff.member_created", "staff.member_changed",
  "screening.answers_read", "screening.cleared", "booking.cancelled", "booking.rescheduled", "booking.completed",
  "closure.created", "closure.deleted", "notification.retried", "client.exported", "client.erasure_requested",
  "waitlist.deleted"];
if ($("audit-action").options.length === 1) {
  $("audit-action").append(...ACTIONS.map((a) => Object.assign(el("option", a), { value: a })));
}
async function loadAudit(more) {
  const query = new URLSearchParams({ limit: "50" });
  if ($("audit-action").value) query.set("action", $("audit-action").value);
  if ($("audit-resource").value.trim()) query.set("resource_id", $("audit-resource").value.trim());
  if (more && state.auditCursor) query.set("cursor", state.auditCursor);
  try {
    const page = await api(`/api/audit?${query}`);
    const rows = page.entries.map((e) => {
      const row = el("tr");
      row.append(el("td", `${e.at.slice(0, 10)} ${e.at.slice(11, 19)}`), el("td", `${e.actor.name} (${e.actor.role || "–"})`),
                 el("td", e.action), el("td", `${e.resource.type} ${e.resource.id || ""}`), el("td", e.request_id || ""));
      return row;
    });
    if (more) $("audit-list").append(...rows); else $("audit-list").replaceChildren(...rows);
    state.auditCursor = page.next_cursor;
    $("audit-more").hidden = !page.next_cursor;
    say("audit-message", page.entries.length || more ? "" : "No entries.", true);
  } catch (problem) { sayProblem("audit-message", problem); }
}
$("audit-form").addEventListener("submit", (event) => { event.preventDefault(); loadAudit(false); });
$("audit-more").addEventListener("click", () => loadAudit(true));

start();
