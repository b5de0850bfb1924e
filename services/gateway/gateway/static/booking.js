// The booking page: screening questionnaire -> outcome -> free times -> booking; and for clients who come
// back (API.md): a manage link (#manage=<booking token>) opens one booking, a sign-in link (#code=<code>)
// opens "My appointments". Talks only to the gateway's public API (API.md); no framework, no build step.
"use strict";

// What the page sends and decides, without the DOM (node loads this part in the tests).
const ClinicBooking = (() => {
  // Times come in the clinic's own offset: show that wall-clock time, whatever the browser's zone.
  const clockTime = (iso) => iso.slice(11, 16);

  // fields: {name, email, phone}; answers: question id -> the form's string ("true", "false", a choice) or "".
  function screeningRequest(fields, areas, questions, answers) {
    const client = { name: (fields.name || "").trim(), email: (fields.email || "").trim() };
    if ((fields.phone || "").trim()) client.phone = fields.phone.trim();
    const body = { client, areas, answers: {} };
    const unanswered = [];
    for (const question of questions) {
      const value = answers[question.id];
      if (value === undefined || value === null || value === "") unanswered.push(question.id);
      else body.answers[question.id] = question.type === "boolean" ? value === "true" : value;
    }
    return { body, unanswered };
  }

  // Anyone screened may book a consultation; a treatment needs an eligible screening.
  const bookingTypeFor = (outcome) => (outcome === "eligible" ? "treatment" : "consultation");

  function availabilityPath(date, type, areas) {
    const what = type === "treatment" ? `areas=${areas.map(encodeURIComponent).join(",")}` : "type=consultation";
    return `/api/availability?date=${encodeURIComponent(date)}&${what}`;
  }

  function bookingBody(screeningId, type, areas, start) {
    const body = { screening_id: screeningId, type, start };
    if (type === "treatment") body.areas = areas;
    return body;
  }

  function problemText(problem) {
    const details = problem.details || {};
    const parts = Object.entries(details.fields || {}).map(([name, msgs]) => `${name}: ${[].concat(msgs).join(" ")}`);
    if (details.earliest_start) parts.push(`The earliest possible start is ${details.earliest_start.slice(0, 10)} ${clockTime(details.earliest_start)}.`);
    return [problem.message, ...parts].join(" ");
  }

  // Right after screening, the booking service may not have heard of it yet (409 screening_pending):
  // wait as told and send the same request again (a booking with the same Idempotency-Key).
  async function sendWithRetry(send, { attempts = 6, sleep, onWait = () => {} } = {}) {
    for (let attempt = 1; ; attempt++) {
      try {
        return await send();
      } catch (problem) {
        if (problem.code !== "screening_pending" || attempt >= attempts) throw problem;
        onWait(problem);
        await sleep((Number(problem.retryAfter) || 1) * 1000);
      }
    }
  }

  const bookWithRetry = (request, body, token, idempotencyKey, options) =>
    sendWithRetry(() => request("/api/bookings", { method: "POST", body, token, idempotencyKey }), options);

  // The waitlist (API.md "Waitlist"): wait for a full day; an offer holds freed time, booked as usual.
  function waitlistBody(screeningId, type, areas, date) {
    const body = { screening_id: screeningId, type, date };
    if (type === "treatment") body.areas = areas;
    return body;
  }

  const offerBookingBody = (entry) => bookingBody(entry.screening_id, entry.type, entry.areas, entry.offer.start);

  // The offer e-mail links to `#waitlist=<entry id>`.
  function waitlistEntryOf(hash) {
    const match = /^#waitlist=([A-Za-z0-9-]{1,64})$/.exec(hash || "");
    return match ? match[1] : null;
  }

  // What the address after # asks for: a manage link, a sign-in code, or nothing.
  function hashRoute(hash) {
    const params = new URLSearchParams(String(hash || "").replace(/^#/, ""));
    if (params.get("manage")) return { kind: "manage", token: params.get("manage") };
    if (params.get("code")) return { kind: "code", code: params.get("code") };
    return { kind: null };
  }

  // Whether the client may still change a booking themselves (the clinic's change notice), said before they try.
  function changeState(booking, nowMs) {
    if (booking.status !== "confirmed") return { canChange: false, reason: booking.status };
    if (booking.changeable_until && Date.parse(booking.changeable_until) < nowMs) return { canChange: false, reason: "too_late" };
    return { canChange: true, reason: null };
  }

  const contactText = (contact) => (contact ? `call us on ${contact.phone} or write to ${contact.email}` : "contact the clinic");
  const whenText = (iso) => `${iso.slice(0, 10)} ${clockTime(iso)}`;

  function policyText(booking, policy, nowMs) {
    const state = changeState(booking, nowMs);
    const contact = contactText(policy && policy.contact);
    if (state.reason === "too_late") {
      return `It is too late to change or cancel this appointment online (up to ${policy ? policy.notice_hours : 24} hours before it starts). Please ${contact}.`;
    }
    if (!state.canChange) return `This appointment is ${booking.status}.`;
    return `You can change or cancel it here until ${whenText(booking.changeable_until)}; after that, please ${contact}.`;
  }

  // "My appointments": upcoming ones first (soonest first), then the rest (latest first); a course's
  // sessions are numbered among the course's bookings.
  function groupAppointments(bookings, nowMs) {
    const byStart = [...bookings].sort((a, b) => Date.parse(a.start) - Date.parse(b.start));
    const upcoming = byStart.filter((b) => b.status === "confirmed" && Date.parse(b.end) > nowMs);
    const past = byStart.filter((b) => !upcoming.includes(b)).reverse();
    const courses = {};
    for (const booking of byStart) if (booking.course_id) (courses[booking.course_id] = courses[booking.course_id] || []).push(booking.id);
    const courseLabel = (booking) => {
      const ids = booking.course_id && courses[booking.course_id];
      return ids ? `Session ${ids.indexOf(booking.id) + 1} of ${ids.length} of a course` : null;
    };
    return { upcoming, past, courseLabel };
  }

  const bookingActionPath = (id, action) => "/api/bookings/" + encodeURIComponent(id) + "/" + action;
  const calendarPath = (id) => `/api/notifications/calendar?booking_id=${encodeURIComponent(id)}`;

  // A screening the client may book with again, without answering the questions again.
  const screeningReusable = (screening, nowMs) => Boolean(screening && screening.id && Date.parse(screening.valid_until) > nowMs);

  const OUTCOME_TITLES = {
    eligible: "Good news: you can book a treatment",
    consultation_required: "We would like to see you for a consultation first",
    not_suitable: "Micro needling is not suitable for you right now",
  };

  // What the page says about a screening, right after the questions and after signing in (the screening_result
  // e-mail names no condition and sends the client here): the outcome, every reason that fired, and, when it
  // is not a treatment, what to do next and how to reach the clinic.
  function outcomeSummary(screening, contact) {
    const next = {
      consultation_required: "Before a treatment, one of our practitioners needs to see you in a consultation. " +
        `Book one here, or ${contactText(contact)}.`,
      not_suitable: "We cannot book a treatment for you now. A practitioner can talk it through with you in a " +
        `consultation: book one here, or ${contactText(contact)}.`,
    }[screening.outcome] || null;
    return { title: OUTCOME_TITLES[screening.outcome] || screening.outcome,
             reasons: (screening.reasons || []).map((reason) => reason.message), next };
  }

  // The signed-in client's screening, read with their own token (API.md: owner or staff).
  const screeningPath = (id) => "/api/screenings/" + encodeURIComponent(id);

  // What the tab keeps of a screening it read: never the answers or the reasons (health data), which are
  // read again from the API when shown.
  const keptScreening = ({ id, outcome, areas, valid_until, created_at }) => ({ id, outcome, areas, valid_until, created_at });

  return { clockTime, screeningRequest, bookingTypeFor, availabilityPath, bookingBody, problemText, bookWithRetry,
           sendWithRetry, waitlistBody, offerBookingBody, waitlistEntryOf, hashRoute, changeState, policyText,
           groupAppointments, bookingActionPath, calendarPath, screeningReusable, outcomeSummary, screeningPath,
           keptScreening };
})();

if (typeof module === "object" && module.exports) module.exports = ClinicBooking;

// The page itself.
if (typeof document !== "undefined") (() => {
  const { clockTime, screeningRequest, bookingTypeFor, availabilityPath, bookingBody, problemText, bookWithRetry,
          sendWithRetry, waitlistBody, offerBookingBody, waitlistEntryOf, hashRoute, changeState, policyText,
          groupAppointments, bookingActionPath, calendarPath, screeningReusable, outcomeSummary, screeningPath,
          keptScreening } = ClinicBooking;
  const $ = (id) => document.getElementById(id);
  const state = { token: null, screening: null, questions: [], type: "treatment", areas: [], areaNames: {},
                  idempotencyKey: null, client: null, bookingScoped: false, policy: null, entry: null, watch: null };
  // A signed-in client (their token, contact and newest screening) for this tab only, like the staff workspace.
  const SESSION_KEY = "clinic.client";
  const WATCH_MS = 5000;  // while the page shows a waiting entry, it looks for an offer this often

  class ApiProblem extends Error {
    constructor(status, body, retryAfter) {
      const error = (body && body.error) || {};
      super(error.message || `The request failed (${status}).`);
      this.status = status;
      this.code = error.code || "error";
      this.details = error.details || {};
      this.retryAfter = Number(retryAfter) || 1;
    }
  }

  async function api(path, { method = "GET", body, token, idempotencyKey, ifMatch, raw = false } = {}) {
    const headers = { Accept: raw ? "*/*" : "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (token) headers.Authorization = `Bearer ${token}`;
    if (idempotencyKey) headers["Idempotency-Key"] = idempotencyKey;
    if (ifMatch !== undefined) headers["If-Match"] = `"${ifMatch}"`;
    let response;
    try {
      response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (e) {
      throw new ApiProblem(0, { error: { message: "The clinic could not be reached. Check your connection and try again." } });
    }
    const text = await response.text();
    if (raw && response.ok) return text;
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
    if (!response.ok) throw new ApiProblem(response.status, data, response.headers.get("Retry-After"));
    return data;
  }

  // The message appears just above `place` (the control the client just used), not at the top of a
  // long page where nobody scrolled to see it.
  // The one message box, kept by reference: a list re-drawn around it must not lose it.
  let messageBox = null;

  function showMessage(text, kind = "error", place = null) {
    const box = messageBox || (messageBox = $("message"));
    if (place && box.nextElementSibling !== place) place.before(box);
    else if (!box.isConnected) document.querySelector("main h1").after(box);
    box.textContent = text;
    box.className = kind === "error" ? "message" : "message info";
    box.hidden = !text;
    if (text) box.scrollIntoView({ block: "nearest" });
  }

  const showProblem = (problem, place) => showMessage(problemText(problem), "error", place);

  // Outline what is still missing; it clears as soon as the client fills it in.
  function markMissing(node, missing) {
    node.classList.toggle("missing", missing);
    if (missing) node.addEventListener("input", () => node.classList.remove("missing"), { once: true });
  }

  function element(tag, props = {}, children = []) {
    const node = Object.assign(document.createElement(tag), props);
    node.append(...children);
    return node;
  }

  function formatDate(isoDate) {
    const [y, m, d] = isoDate.slice(0, 10).split("-").map(Number);
    return new Date(y, m - 1, d).toLocaleDateString(undefined, { weekday: "long", day: "numeric", month: "long", year: "numeric" });
  }
  const isoDay = (date) => `${date.getFullYear()}-${String(date.getMonth() + 1).padStart(2, "0")}-${String(date.getDate()).padStart(2, "0")}`;

  function newIdempotencyKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function renderAreas(treatments) {
    $("max-minutes").textContent = treatments.max_session_minutes;
    for (const area of treatments.areas) {
      state.areaNames[area.id] = area.name;
      const box = element("input", { type: "checkbox", name: "areas", value: area.id, id: `area-${area.id}` });
      $("areas").append(element("label", { className: "choice", htmlFor: box.id },
        [box, `${area.name} (${area.duration_minutes} minutes)`]));
    }
  }

  function renderQuestions(questionnaire) {
    state.questions = questionnaire.questions;
    $("questions-loading").remove();
    for (const question of questionnaire.questions) {
      const wrapper = element("div", { className: "question", id: `question-${question.id}` });
      if (question.type === "choice") {
        const select = element("select", { id: `q-${question.id}`, name: question.id, required: true },
          [element("option", { value: "", textContent: "Choose…" }),
           ...question.choices.map((choice) => element("option", { value: choice, textContent: choice }))]);
        wrapper.append(element("label", { htmlFor: select.id, textContent: question.text }), select);
      } else {
        const group = element("fieldset", {}, [element("legend", { textContent: question.text })]);
        const answers = element("div", { className: "answers" });
        for (const [label, value] of [["Yes", "true"], ["No", "false"]]) {
          const radio = element("input", { type: "radio", name: question.id, value, id: `q-${question.id}-${value}`, required: true });
          answers.append(element("label", { className: "choice", htmlFor: radio.id }, [radio, label]));
        }
        group.append(answers);
        wrapper.append(group);
      }
      $("questions").append(wrapper);
    }
  }

  async function submitScreening(event) {
    event.preventDefault();
    const data = new FormData(event.target);
    const answers = Object.fromEntries(state.questions.map((q) => [q.id, data.get(q.id)]));
    const { body, unanswered } = screeningRequest(
      { name: data.get("name"), email: data.get("email"), phone: data.get("phone") },
      data.getAll("areas"), state.questions, answers);
    const place = $("screen-button");
    for (const field of ["name", "email"]) markMissing($(field), !body.client[field]);
    markMissing($("areas"), body.areas.length === 0);
    for (const question of state.questions) markMissing($(`question-${question.id}`), unanswered.includes(question.id));
    if (!body.client.name || !body.client.email) return showMessage("Please give your name and e-mail address.", "error", place);
    if (body.areas.length === 0) return showMessage("Please choose at least one area to treat.", "error", place);
    if (unanswered.length) {
      return showMessage(`Please answer every health question (${unanswered.length} left, marked in red).`, "error", place);
    }
    showMessage("");
    $("screen-button").disabled = true;
    try {
      // Signed in, the screening is added to the same client (API.md); a manage link's token may not.
      const token = state.token && !state.bookingScoped ? state.token : undefined;
      const screening = await api("/api/screenings", { method: "POST", body, token });
      state.token = screening.access_token;
      state.bookingScoped = false;
      state.screening = screening;
      state.areas = body.areas;
      remember({ token: screening.access_token, client: body.client, screening });
      showOutcome(screening);
    } catch (problem) {
      showProblem(problem, place);
    } finally {
      $("screen-button").disabled = false;
    }
  }

  // One rendering of a screening's outcome, reasons and next step, into a title, a list and a paragraph:
  // after the questions (#outcome) and, signed in, in "My appointments" (#my-screening).
  function renderOutcome(screening, { title, reasons, next }) {
    const summary = outcomeSummary(screening, state.policy && state.policy.contact);
    title.textContent = summary.title;
    reasons.replaceChildren(...summary.reasons.map((text) => element("li", { textContent: text })));
    reasons.hidden = summary.reasons.length === 0;
    next.textContent = summary.next || "";
    next.hidden = !summary.next;
  }

  function showOutcome(screening) {
    $("outcome").hidden = false;
    renderOutcome(screening, { title: $("outcome-title"), reasons: $("reasons"), next: $("outcome-next") });
    state.type = bookingTypeFor(screening.outcome);
    $("booking-title").textContent = state.type === "treatment"
      ? "Choose a time for your treatment" : "Book a consultation (30 minutes)";
    $("booking").hidden = false;
    $("slot-form").hidden = true;
    $("confirmation").hidden = true;
    $("outcome-title").focus();
  }

  async function loadSlots(event) {
    if (event) event.preventDefault();
    const date = $("date").value;
    if (!date) return showMessage("Please choose a date.", "error", $("slot-form"));
    showMessage("");
    try {
      const availability = await api(availabilityPath(date, state.type, state.areas));
      renderSlots(availability, date);
    } catch (problem) {
      $("slot-form").hidden = true;
      $("waitlist-join").hidden = true;
      showProblem(problem, $("slot-form"));
    }
  }

  function renderSlots(availability, date) {
    const slots = availability.slots;
    $("slots-legend").textContent = `Free times on ${formatDate(date)} (${availability.timezone})`;
    $("slots").replaceChildren(...slots.map((slot, index) => {
      const radio = element("input", { type: "radio", name: "slot", value: slot.start, id: `slot-${index}`, required: true });
      radio.addEventListener("change", () => { state.idempotencyKey = newIdempotencyKey(); });
      return element("label", { className: "choice", htmlFor: radio.id }, [radio, `${clockTime(slot.start)}–${clockTime(slot.end)}`]);
    }));
    $("slot-form").hidden = slots.length === 0;
    $("waitlist-join").hidden = slots.length !== 0;
    if (slots.length === 0) showMessage("There is no free time on that day. Please try another date.", "info", $("slot-form"));
  }

  async function book(event) {
    event.preventDefault();
    const chosen = $("slot-form").querySelector("input[name=slot]:checked");
    if (!chosen) return showMessage("Please choose a time.", "error", $("book-button"));
    const body = bookingBody(state.screening.id, state.type, state.areas, chosen.value);
    showMessage("");
    $("book-button").disabled = true;
    try {
      const booking = await bookWithRetry(api, body, state.token,
        state.idempotencyKey || (state.idempotencyKey = newIdempotencyKey()), {
          sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
          onWait: () => showMessage("One moment, we are getting your booking ready…", "info", $("book-button")),
        });
      state.idempotencyKey = null;
      showConfirmation(booking);
      if (!$("appointments").hidden) showAppointments({ focus: false });  // the new booking joins the list
    } catch (problem) {
      showProblem(problem, $("book-button"));
      if (problem.code === "slot_unavailable") {
        // Fresh times replace the taken one; say why the client has to choose again.
        loadSlots().then(() => { if (!$("slot-form").hidden) showProblem(problem, $("book-button")); });
      }
    } finally {
      $("book-button").disabled = false;
    }
  }

  // A booking as (term, value) rows: the confirmation shows them, and each card of "My appointments".
  function bookingRows(booking) {
    return [
      ["Reference", booking.reference],
      ["Date", formatDate(booking.start)],
      ["Time", `${clockTime(booking.start)}–${clockTime(booking.end)}`],
      ["Treatment", booking.type === "consultation" ? "Consultation"
        : booking.areas.map((id) => state.areaNames[id] || id).join(", ")],
      ["Practitioner", booking.practitioner.name],
    ];
  }

  function showConfirmation(booking) {
    showMessage("");
    $("confirmation-details").replaceChildren(...bookingRows(booking).flatMap(([term, value]) =>
      [element("dt", { textContent: term }), element("dd", { textContent: value })]));
    $("booking").hidden = true;
    $("confirmation").hidden = false;
    $("confirmation-title").focus();
  }

  // ----- the waitlist -----

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  async function joinWaitlist() {
    const place = $("waitlist-button");
    const body = waitlistBody(state.screening.id, state.type, state.areas, $("date").value);
    showMessage("");
    place.disabled = true;
    try {
      const entry = await sendWithRetry(() => api("/api/waitlist", { method: "POST", body, token: state.token }), {
        sleep, onWait: () => showMessage("One moment, we are getting your details ready…", "info", place) });
      showEntry(entry);
    } catch (problem) {
      showProblem(problem, place);
    } finally {
      place.disabled = false;
    }
  }

  // ----- clients who come back ------------------------------------------------------------------

  function remember(session) {
    state.client = session.client;
    const kept = { ...session, screening: session.screening && keptScreening(session.screening) };
    try { sessionStorage.setItem(SESSION_KEY, JSON.stringify(kept)); } catch (e) { /* private mode: this page only */ }
  }

  function recall() {
    try { return JSON.parse(sessionStorage.getItem(SESSION_KEY) || "null"); } catch (e) { return null; }
  }

  function forget() {
    try { sessionStorage.removeItem(SESSION_KEY); } catch (e) { /* nothing kept */ }
    clearTimeout(state.watch);
    Object.assign(state, { token: null, screening: null, client: null, bookingScoped: false, entry: null });
  }

  async function askForSignInLink(event) {
    event.preventDefault();
    const email = $("sign-in-email").value.trim();
    const place = $("sign-in-button");
    markMissing($("sign-in-email"), !email);
    if (!email) return showMessage("Please give the e-mail address you booked with.", "error", place);
    place.disabled = true;
    try {
      await api("/api/auth/link", { method: "POST", body: { email } });
      showMessage(`If we know ${email}, a sign-in link is on its way to it. It works once, for 15 minutes.`, "info", place);
    } catch (problem) {
      showProblem(problem, place);
    } finally {
      place.disabled = false;
    }
  }

  function showEntry(entry) {
    state.entry = entry;
    clearTimeout(state.watch);
    showMessage("");
    const when = formatDate(entry.date);
    const offer = entry.offer;
    let title, text;
    if (entry.status === "offered") {
      title = "A time has come free for you";
      text = `${formatDate(offer.start)}, ${clockTime(offer.start)}–${clockTime(offer.end)}. ` +
             `We are holding it for you until ${clockTime(offer.expires_at)}.`;
    } else if (entry.status === "booked") {
      title = "You booked the time we held for you";
      text = `${formatDate(offer.start)}, ${clockTime(offer.start)}–${clockTime(offer.end)}.`;
    } else if (entry.status === "expired") {
      title = "The time we held for you has gone to the next person";
      text = `It was held until ${clockTime(offer.expires_at)}. You can choose another day, or join its waitlist.`;
    } else {
      title = `You are on the waitlist for ${when}`;
      text = "If a time comes free that day, we e-mail you at once and hold it for you for a while. " +
             "It shows here too while this page is open.";
      state.watch = setTimeout(watchEntry, WATCH_MS);
    }
    $("waitlist-title").textContent = title;
    $("waitlist-text").textContent = text;
    $("offer-button").hidden = entry.status !== "offered";
    $("booking").hidden = entry.status !== "expired";
    $("confirmation").hidden = true;
    $("waitlist").hidden = false;
    $("waitlist-title").focus();
  }

  async function watchEntry() {
    if (!state.entry || !state.token) return;
    try {
      const entry = await api(`/api/waitlist/${encodeURIComponent(state.entry.id)}`, { token: state.token });
      if (entry.status !== state.entry.status) return showEntry(entry);
    } catch (problem) {
      if (problem.status === 404) return;  // left the waitlist (staff removed it)
    }
    state.watch = setTimeout(watchEntry, WATCH_MS);
  }

  async function bookOffer() {
    const place = $("offer-button");
    showMessage("");
    place.disabled = true;
    try {
      const booking = await bookWithRetry(api, offerBookingBody(state.entry), state.token,
        state.idempotencyKey || (state.idempotencyKey = newIdempotencyKey()), { sleep });
      state.idempotencyKey = null;
      $("waitlist").hidden = true;
      showConfirmation(booking);
    } catch (problem) {
      showProblem(problem, place);
    } finally {
      place.disabled = false;
    }
  }

  // Opened from the offer e-mail (`#waitlist=<id>`): the page that joined, or a signed-in tab, holds the
  // client's token. Elsewhere the page asks them to sign in: their waitlist is then under "My appointments".
  async function openLinkedEntry(id) {
    if (!state.token || state.bookingScoped) {
      $("sign-in").hidden = false;
      showMessage("To book the time we are holding for you, sign in: we e-mail you a link, and the time held " +
                  "for you is then under My appointments.", "info", $("sign-in-form"));
      return $("sign-in-email").focus();
    }
    try {
      showEntry(await api(`/api/waitlist/${encodeURIComponent(id)}`, { token: state.token }));
    } catch (problem) {
      showProblem(problem, $("screening-form"));
    }
  }

  async function exchangeCode(code) {
    history.replaceState(null, "", location.pathname + location.search);  // a code works once: not on reload
    try {
      const signedIn = await api("/api/auth/token", { method: "POST", body: { code } });
      state.token = signedIn.access_token;
      state.bookingScoped = false;
      state.screening = signedIn.screening;
      remember({ token: signedIn.access_token, client: signedIn.client, screening: signedIn.screening });
      await showAppointments();
    } catch (problem) {
      const text = problem.status === 401
        ? "This sign-in link has been used or has expired. Ask for a new one here." : problemText(problem);
      showMessage(text, "error", $("sign-in-form"));
      $("sign-in-email").focus();
    }
  }

  async function openManageLink(token) {
    Object.assign(state, { token, bookingScoped: true });
    try {
      const { bookings } = await api("/api/bookings", { token });
      if (!bookings.length) throw { status: 404, message: "We could not find this appointment." };
      $("sign-in").hidden = false;
      $("appointments").hidden = true;
      $("manage").hidden = false;
      $("manage-booking").replaceChildren(bookingCard(bookings[0], () => openManageLink(token)));
      $("manage-title").focus();
    } catch (problem) {
      state.token = null;
      const text = problem.status === 401
        ? "This link no longer works: the appointment has passed. To see your appointments, ask for a sign-in link here."
        : problem.message || problemText(problem);
      showMessage(text, "error", $("sign-in-form"));
    }
  }

  async function showAppointments({ focus = true } = {}) {
    const { bookings } = await api("/api/bookings", { token: state.token });
    const now = Date.now();
    const { upcoming, past, courseLabel } = groupAppointments(bookings, now);
    const cards = [];
    if (upcoming.length === 0) cards.push(element("p", { className: "hint", textContent: "You have no upcoming appointments." }));
    for (const booking of upcoming) cards.push(bookingCard(booking, showAppointments, courseLabel(booking)));
    if (past.length) {
      cards.push(element("h3", { textContent: "Earlier and cancelled" }));
      for (const booking of past) cards.push(bookingCard(booking, showAppointments, courseLabel(booking)));
    }
    $("appointments-list").replaceChildren(...cards);
    renderWaitlist($("waitlist-entries"));
    showMyScreening();
    const client = state.client || {};
    $("appointments-who").textContent = client.name ? `Signed in as ${client.name} (${client.email}).` : "";
    $("book-again-button").hidden = !screeningReusable(state.screening, now);
    prefillContact(client);
    $("sign-in").hidden = true;
    $("manage").hidden = true;
    $("appointments").hidden = false;
    if (focus) $("appointments-title").focus();
  }

  // The signed-in client's newest screening as it is now (a clearance may have changed its outcome), with
  // its reasons: the screening_result e-mail leaves them to this page. Read once per screening shown (the list
  // is drawn again after every change of a booking, which does not change it); without it the bookings show.
  async function showMyScreening() {
    const section = $("my-screening");
    if (!state.screening || !state.screening.id) return (section.hidden = true);
    if (!section.hidden && section.dataset.screeningId === state.screening.id) return;
    let screening;
    try {
      screening = await api(screeningPath(state.screening.id), { token: state.token });
    } catch (problem) {
      return (section.hidden = true);
    }
    if (!state.screening || state.screening.id !== screening.id) return;  // screened again meanwhile
    state.screening = keptScreening(screening);
    remember({ token: state.token, client: state.client, screening: state.screening });
    const valid = screeningReusable(state.screening, Date.now());
    $("book-again-button").hidden = !valid;
    $("my-screening-when").textContent = `Your screening of ${formatDate(screening.created_at)}` +
      (valid ? `, valid until ${formatDate(screening.valid_until)}.`
        : `. It was valid until ${formatDate(screening.valid_until)}: to book, answer the questions again.`);
    renderOutcome(screening, { title: $("my-screening-title"), reasons: $("my-screening-reasons"),
                               next: $("my-screening-next") });
    section.dataset.screeningId = screening.id;
    section.hidden = false;
  }

  // A signed-in client's waitlist entries still open, beside their bookings: an offer is booked from here.
  async function renderWaitlist(container) {
    let entries = [];
    try {
      entries = (await api("/api/waitlist", { token: state.token })).waitlist
        .filter((entry) => entry.status === "waiting" || entry.status === "offered");
    } catch (problem) { /* the bookings are shown without it */ }
    const cards = entries.map((entry) => {
      const text = entry.status === "offered"
        ? `A time has come free for you on ${formatDate(entry.offer.start)}, ${clockTime(entry.offer.start)}–` +
          `${clockTime(entry.offer.end)}, held until ${clockTime(entry.offer.expires_at)}.`
        : `You are on the waitlist for ${formatDate(entry.date)}.`;
      const card = element("article", { className: "card", id: `waitlist-${entry.id}` }, [element("p", { textContent: text })]);
      if (entry.status === "offered") {
        const open = element("button", { type: "button", textContent: "See the time held for me" });
        open.addEventListener("click", () => showEntry(entry));
        card.append(element("div", { className: "row actions" }, [open]));
      }
      return card;
    });
    container.replaceChildren(...(cards.length ? [element("h3", { textContent: "Waitlist" }), ...cards] : []));
  }

  function prefillContact(client) {
    for (const field of ["name", "email", "phone"]) if (client[field] && !$(field).value) $(field).value = client[field];
  }

  // Book again with the newest screening, without answering the questions again.
  function bookAgain() {
    const screening = state.screening;
    state.areas = screening.areas || [];
    state.type = bookingTypeFor(screening.outcome);
    $("outcome").hidden = true;
    $("confirmation").hidden = true;
    $("booking-title").textContent = state.type === "treatment"
      ? `Choose a time for your treatment (${state.areas.map((id) => state.areaNames[id] || id).join(", ")})`
      : "Book a consultation (30 minutes)";
    $("booking").hidden = false;
    $("slot-form").hidden = true;
    $("date").focus();
  }

  function newScreening() {
    prefillContact(state.client || {});
    $("screening-form").scrollIntoView({ block: "start" });
    $("name").focus();
  }

  function signOut() {
    forget();
    $("my-screening").hidden = true;  // the next client's is read afresh
    $("appointments").hidden = true;
    $("sign-in").hidden = false;
    showMessage("You are signed out.", "info", $("sign-in-form"));
  }

  // One booking, with what the client may still do with it (and, before they try, until when).
  function bookingCard(booking, refresh, courseLabel = null) {
    const state_ = changeState(booking, Date.now());
    const rows = [...bookingRows(booking), ["Status", booking.status]];
    if (courseLabel) rows.push(["Course", courseLabel]);
    const card = element("article", { className: "card", id: `booking-${booking.id}` }, [
      element("dl", {}, rows.flatMap(([term, value]) => [element("dt", { textContent: term }), element("dd", { textContent: value })])),
      element("p", { className: "policy", textContent: policyText(booking, state.policy, Date.now()) }),
    ]);
    const actions = element("div", { className: "row actions" });
    if (booking.status === "confirmed") {
      const calendar = element("button", { type: "button", className: "secondary", textContent: "Add to calendar" });
      calendar.addEventListener("click", () => downloadCalendar(booking, calendar));
      actions.append(calendar);
    }
    if (state_.canChange) {
      const move = element("button", { type: "button", textContent: "Change the time" });
      const cancel = element("button", { type: "button", className: "danger", textContent: "Cancel this appointment" });
      move.addEventListener("click", () => { card.querySelector(".reschedule").hidden = false; card.querySelector(".reschedule input").focus(); });
      cancel.addEventListener("click", () => { card.querySelector(".confirm-cancel").hidden = false; card.querySelector(".confirm-cancel button").focus(); });
      actions.append(move, cancel);
    }
    card.append(actions);
    if (state_.canChange) card.append(cancelPanel(booking, refresh), reschedulePanel(booking, refresh));
    return card;
  }

  function cancelPanel(booking, refresh) {
    const yes = element("button", { type: "button", className: "danger", textContent: "Yes, cancel it" });
    const panel = element("div", { className: "confirm-cancel", hidden: true }, [
      element("p", { textContent: `Cancel your appointment on ${formatDate(booking.start)} at ${clockTime(booking.start)}?` }), yes]);
    yes.addEventListener("click", async () => {
      yes.disabled = true;
      try {
        await api(bookingActionPath(booking.id, "cancel"), { method: "POST", body: {}, token: state.token, ifMatch: booking.version });
        await refresh();
        showMessage(`Your appointment on ${formatDate(booking.start)} is cancelled. We have sent you an e-mail.`, "info", firstCard());
      } catch (problem) {
        yes.disabled = false;
        showChangeProblem(problem, yes, refresh);
      }
    });
    return panel;
  }

  function reschedulePanel(booking, refresh) {
    const id = `move-day-${booking.id}`;
    const day = element("input", { type: "date", id, required: true, min: isoDay(new Date()) });
    const find = element("button", { type: "submit", textContent: "Find free times" });
    const slots = element("div", { className: "slots" });
    const confirm = element("button", { type: "button", textContent: "Move to this time", hidden: true });
    const form = element("form", { className: "reschedule", hidden: true }, [
      element("label", { htmlFor: id, textContent: "New day" }), element("div", { className: "row" }, [day, find]), slots, confirm]);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (!day.value) return showMessage("Please choose a day.", "error", find);
      try {
        const availability = await api(availabilityPath(day.value, booking.type, booking.areas));
        slots.replaceChildren(...availability.slots.map((slot, index) => {
          const radio = element("input", { type: "radio", name: `move-${booking.id}`, value: slot.start, id: `move-${booking.id}-${index}` });
          return element("label", { className: "choice", htmlFor: radio.id }, [radio, `${clockTime(slot.start)}–${clockTime(slot.end)}`]);
        }));
        confirm.hidden = availability.slots.length === 0;
        showMessage(availability.slots.length ? "" : "There is no free time on that day. Please try another.", "info", find);
      } catch (problem) {
        showProblem(problem, find);
      }
    });
    confirm.addEventListener("click", async () => {
      const chosen = slots.querySelector("input:checked");
      if (!chosen) return showMessage("Please choose a time.", "error", confirm);
      confirm.disabled = true;
      try {
        const moved = await api(bookingActionPath(booking.id, "reschedule"),
          { method: "POST", body: { start: chosen.value }, token: state.token, ifMatch: booking.version });
        await refresh();
        showMessage(`Your appointment is now on ${formatDate(moved.start)} at ${clockTime(moved.start)}. We have sent you an e-mail.`, "info", firstCard());
      } catch (problem) {
        confirm.disabled = false;
        showChangeProblem(problem, confirm, refresh);
      }
    });
    return form;
  }

  const firstCard = () => document.querySelector("#manage:not([hidden]) .card, #appointments:not([hidden]) .card");

  function showChangeProblem(problem, place, refresh) {
    if (problem.code === "too_late_to_change") {
      const contact = problem.details.contact || {};
      return showMessage(`It is too late to change this appointment online. Please call us on ${contact.phone} or write to ${contact.email}.`, "error", place);
    }
    showProblem(problem, place);
    if (problem.code === "conflict") refresh();  // it changed meanwhile: show it as it is now
  }

  async function downloadCalendar(booking, button) {
    try {
      const ics = await api(calendarPath(booking.id), { token: state.token, raw: true });
      const link = element("a", { href: URL.createObjectURL(new Blob([ics], { type: "text/calendar" })),
                                  download: `appointment-${booking.reference}.ics` });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 10000);
    } catch (problem) {
      showMessage(problem.status === 404 ? "The calendar file is not ready yet; please try again in a moment." : problemText(problem), "error", button);
    }
  }

  async function route() {
    const where = hashRoute(location.hash);
    if (where.kind === "manage") return openManageLink(where.token);
    if (where.kind === "code") return exchangeCode(where.code);
    const session = recall();
    if (session && session.token) {
      Object.assign(state, { token: session.token, client: session.client, screening: session.screening, bookingScoped: false });
      try {
        await showAppointments();
      } catch (problem) {
        forget();  // an old session: the page starts afresh
      }
    }
    const linked = waitlistEntryOf(location.hash);  // the waitlist offer e-mail's link
    if (linked) await openLinkedEntry(linked);
  }

  async function start() {
    const today = new Date();
    $("date").min = isoDay(today);
    $("date").max = isoDay(new Date(today.getTime() + 365 * 24 * 3600 * 1000));
    $("screening-form").addEventListener("submit", submitScreening);
    $("date-form").addEventListener("submit", loadSlots);
    $("slot-form").addEventListener("submit", book);
    $("waitlist-button").addEventListener("click", joinWaitlist);
    $("offer-button").addEventListener("click", bookOffer);
    $("sign-in-form").addEventListener("submit", askForSignInLink);
    $("book-again-button").addEventListener("click", bookAgain);
    $("new-screening-button").addEventListener("click", newScreening);
    $("sign-out-button").addEventListener("click", signOut);
    window.addEventListener("hashchange", route);
    try {
      const [questionnaire, treatments] = await Promise.all([api("/api/screening/questionnaire"), api("/api/treatments")]);
      state.policy = treatments.change_policy || null;
      renderAreas(treatments);
      renderQuestions(questionnaire);
    } catch (problem) {
      showProblem(problem);
    }
    await route();
  }

  document.addEventListener("DOMContentLoaded", start);
})();
