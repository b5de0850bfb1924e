// The booking page: screening questionnaire -> outcome -> free times -> booking.
// Talks only to the gateway's public API (API.md); no framework, no build step.
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

  return { clockTime, screeningRequest, bookingTypeFor, availabilityPath, bookingBody, problemText, bookWithRetry,
           sendWithRetry, waitlistBody, offerBookingBody, waitlistEntryOf };
})();

if (typeof module === "object" && module.exports) module.exports = ClinicBooking;

// The page itself.
if (typeof document !== "undefined") (() => {
  const { clockTime, screeningRequest, bookingTypeFor, availabilityPath, bookingBody, problemText, bookWithRetry,
          sendWithRetry, waitlistBody, offerBookingBody, waitlistEntryOf } = ClinicBooking;
  const $ = (id) => document.getElementById(id);
  const state = { token: null, screening: null, questions: [], type: "treatment", areas: [], areaNames: {},
                  idempotencyKey: null, entry: null, watch: null };
  const WATCH_MS = 5000;  // while the page shows a waiting entry, it looks for an offer this often
  const OUTCOME_TITLES = {
    eligible: "Good news: you can book a treatment",
    consultation_required: "We would like to see you for a consultation first",
    not_suitable: "Micro needling is not suitable for you right now",
  };

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

  async function api(path, { method = "GET", body, token, idempotencyKey } = {}) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (token) headers.Authorization = `Bearer ${token}`;
    if (idempotencyKey) headers["Idempotency-Key"] = idempotencyKey;
    let response;
    try {
      response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (e) {
      throw new ApiProblem(0, { error: { message: "The clinic could not be reached. Check your connection and try again." } });
    }
    const text = await response.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
    if (!response.ok) throw new ApiProblem(response.status, data, response.headers.get("Retry-After"));
    return data;
  }

  // The message appears just above `place` (the control the client just used), not at the top of a
  // long page where nobody scrolled to see it.
  function showMessage(text, kind = "error", place = null) {
    const box = $("message");
    if (place && box.nextElementSibling !== place) place.before(box);
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
      const screening = await api("/api/screenings", { method: "POST", body });
      state.token = screening.access_token;
      state.screening = screening;
      state.areas = body.areas;
      showOutcome(screening);
    } catch (problem) {
      showProblem(problem, place);
    } finally {
      $("screen-button").disabled = false;
    }
  }

  function showOutcome(screening) {
    $("outcome").hidden = false;
    $("outcome-title").textContent = OUTCOME_TITLES[screening.outcome] || screening.outcome;
    $("reasons").replaceChildren(...screening.reasons.map((reason) => element("li", { textContent: reason.message })));
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

  function showConfirmation(booking) {
    showMessage("");
    const rows = [
      ["Reference", booking.reference],
      ["Date", formatDate(booking.start)],
      ["Time", `${clockTime(booking.start)}–${clockTime(booking.end)}`],
      ["Treatment", booking.type === "consultation" ? "Consultation"
        : booking.areas.map((id) => state.areaNames[id] || id).join(", ")],
      ["Practitioner", booking.practitioner.name],
    ];
    $("confirmation-details").replaceChildren(...rows.flatMap(([term, value]) =>
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

  // Opened from the offer e-mail (`#waitlist=<id>`): the page that joined still holds the client's token.
  async function openLinkedEntry() {
    const id = waitlistEntryOf(location.hash);
    if (!id) return;
    if (!state.token) {
      return showMessage("To book the time we are holding for you, open this link on the page where you joined " +
                         "the waitlist, or sign in first.", "info", $("screening-form"));
    }
    try {
      showEntry(await api(`/api/waitlist/${encodeURIComponent(id)}`, { token: state.token }));
    } catch (problem) {
      showProblem(problem, $("screening-form"));
    }
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
    window.addEventListener("hashchange", openLinkedEntry);
    try {
      const [questionnaire, treatments] = await Promise.all([api("/api/screening/questionnaire"), api("/api/treatments")]);
      renderAreas(treatments);
      renderQuestions(questionnaire);
      openLinkedEntry();
    } catch (problem) {
      showProblem(problem);
    }
  }

  document.addEventListener("DOMContentLoaded", start);
})();
