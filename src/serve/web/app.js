/**
 * viva's page: the sessions kept, one session answer by answer (scores, feedback, the
 * transcript marked the way `viva review` marks it, the recording, the pace over time and the
 * prompt's score history), and a drill started and steered from the browser, watched through
 * the daemon's event stream.
 *
 * Plain script, no framework and no build step: the daemon serves this file as it is. The URL
 * hash chooses the view (`#/` nothing open, `#/sessions/ID` one session), so reload and back
 * work. Everything shown comes from the JSON API on the same origin; text from it is only ever
 * set as text, never parsed as HTML.
 */
"use strict";

const SVG_NS = "http://www.w3.org/2000/svg";
/** Sessions listed at most. */
const SESSIONS_LIMIT = 100;
/** The parts of a score, in scorecard order. Older scorecards lack the last two. */
const SCORE_PARTS = ["coverage", "specificity", "pace", "length", "fillers", "hedges", "delivery"];

/** Prompt text by id, once `/api/prompts` has answered. */
let promptTexts = new Map();
/** Each prompt's history, fetched once per session view. */
let historyByPrompt = new Map();
/** Bumped on every navigation, so a slow answer for a session no longer wanted is dropped. */
let sessionTicket = 0;
/** The drill's event stream while one is open. */
let roundEvents = null;

// ---------------------------------------------------------------------------------------------
// Building the DOM

/** An element with attributes (`onclick` and the like become listeners) and children. */
function el(tag, attrs = {}, ...children) {
  return fill(document.createElement(tag), attrs, children);
}

/** The same for SVG. */
function svg(tag, attrs = {}, ...children) {
  return fill(document.createElementNS(SVG_NS, tag), attrs, children);
}

function fill(node, attrs, children) {
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// ---------------------------------------------------------------------------------------------
// Talking to the daemon

/**
 * Calls the API and returns its JSON. A request with `body` is a POST of that body as JSON. A
 * failure throws an Error carrying the daemon's own message (`{"error": ...}`) when it sent one.
 */
async function api(path, { body } = {}) {
  const init = { credentials: "same-origin", headers: { Accept: "application/json" } };
  if (body !== undefined) {
    init.method = "POST";
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (e) {
    throw new Error("viva serve is not answering; is it still running? (" + e.message + ")");
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const detail = data && typeof data.error === "string" ? data.error : text.trim();
    throw new Error(detail || `${init.method || "GET"} ${path} failed (HTTP ${response.status})`);
  }
  return data;
}

/** Shows an error in the banner under the header until it is dismissed or replaced. */
function showError(error) {
  const text = error instanceof Error ? error.message : String(error);
  document.getElementById("message-text").textContent = text;
  document.getElementById("message").hidden = false;
}

function hideMessage() {
  document.getElementById("message").hidden = true;
}

// ---------------------------------------------------------------------------------------------
// Formatting

/** "Sat, Mar 1, 09:30" in the reader's locale, from an RFC 3339 time; the year only when it
 * is not this one. */
function formatWhen(rfc3339) {
  const date = new Date(rfc3339);
  if (Number.isNaN(date.getTime())) return rfc3339;
  const options = { weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" };
  if (date.getFullYear() !== new Date().getFullYear()) options.year = "numeric";
  return date.toLocaleString(undefined, options);
}

/** The day alone: "Sat, Mar 1", with the year when it is not this one. */
function formatDay(rfc3339) {
  const date = new Date(rfc3339);
  if (Number.isNaN(date.getTime())) return rfc3339;
  const options = { weekday: "short", day: "numeric", month: "short" };
  if (date.getFullYear() !== new Date().getFullYear()) options.year = "numeric";
  return date.toLocaleDateString(undefined, options);
}

/** The time of day alone. */
function formatTime(rfc3339) {
  const date = new Date(rfc3339);
  if (Number.isNaN(date.getTime())) return rfc3339;
  return date.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
}

/** Whether two RFC 3339 times fall on the same local day. */
function sameDay(a, b) {
  return new Date(a).toDateString() === new Date(b).toDateString();
}

/** A short label for a point in time: the day, or the time of day when `other` shares it. */
function shortWhen(rfc3339, other) {
  const date = new Date(rfc3339);
  if (Number.isNaN(date.getTime())) return rfc3339;
  if (other && sameDay(rfc3339, other)) return formatTime(rfc3339);
  return date.toLocaleDateString(undefined, { day: "numeric", month: "short" });
}

/** Seconds as m:ss. */
function clock(seconds) {
  const whole = Math.max(0, Math.round(seconds));
  return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, "0")}`;
}

function plural(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}

function round0(value) {
  return value === null || value === undefined ? "—" : String(Math.round(value));
}

// ---------------------------------------------------------------------------------------------
// The sessions list

async function loadSessions() {
  const sessions = await api(`/api/sessions?limit=${SESSIONS_LIMIT}`);
  const body = document.getElementById("sessions-body");
  body.replaceChildren(...sessions.map(sessionRow));
  document.getElementById("sessions-empty").hidden = sessions.length > 0;
  markOpenSession();
}

function sessionRow(summary) {
  const href = "#/sessions/" + encodeURIComponent(summary.id);
  const answers = summary.completed < summary.answers
    ? el("span", { title: `${summary.completed} of ${summary.answers} scored` },
      `${summary.completed} of ${summary.answers}`)
    : String(summary.answers);
  return el("tr", { "data-session": summary.id, onclick: () => { location.hash = href; } },
    el("td", { class: "when" }, el("a", { href, title: `Session ${summary.id}` },
      el("span", { class: "day" }, formatDay(summary.started_at)), " ",
      el("span", { class: "time" }, formatTime(summary.started_at)))),
    el("td", {}, summary.playlist || "—"),
    el("td", { class: "num" }, answers),
    el("td", { class: "num" }, round0(summary.mean_overall)),
    el("td", {}, statusBadge(summary.status)));
}

/** A status in words, with a symbol so it reads without colour. */
function statusBadge(status) {
  const symbols = { interrupted: "⚠ ", running: "● ", quit: "■ ", complete: "" };
  return el("span", { class: `status status-${status}` }, (symbols[status] ?? "") + status);
}

/** Marks the open session's row, for sight and for screen readers. */
function markOpenSession() {
  const open = openSessionId();
  for (const row of document.querySelectorAll("#sessions-body tr")) {
    const link = row.querySelector("a");
    if (row.dataset.session === open) {
      row.classList.add("open");
      link.setAttribute("aria-current", "page");
    } else {
      row.classList.remove("open");
      link.removeAttribute("aria-current");
    }
  }
}

// ---------------------------------------------------------------------------------------------
// One session

function openSessionId() {
  const match = location.hash.match(/^#\/sessions\/([^/]+)$/);
  return match ? decodeURIComponent(match[1]) : null;
}

/** Shows what the hash names. */
async function route() {
  markOpenSession();
  const id = openSessionId();
  const main = document.getElementById("session");
  const ticket = ++sessionTicket;
  if (!id) {
    main.replaceChildren(el("p", { class: "hint" },
      "Choose a session to see its answers: scores, feedback, the transcript and the recording."));
    document.title = "viva";
    return;
  }
  main.setAttribute("aria-busy", "true");
  try {
    const view = await api(`/api/sessions/${encodeURIComponent(id)}`);
    if (ticket !== sessionTicket) return;
    historyByPrompt = new Map();
    main.replaceChildren(sessionHeader(view), ...view.answers.map(renderAnswer));
    document.title = `viva · session ${view.id}`;
    await Promise.all(view.answers.map(fillHistoryChart));
  } catch (e) {
    if (ticket !== sessionTicket) return;
    main.replaceChildren(el("p", { class: "hint" }, `Session ${id} could not be shown.`));
    showError(e);
  } finally {
    if (ticket === sessionTicket) main.removeAttribute("aria-busy");
  }
}

function sessionHeader(view) {
  const scores = view.answers
    .filter((a) => a.complete && a.scorecard)
    .map((a) => a.scorecard.overall);
  const mean = scores.length ? scores.reduce((s, x) => s + x, 0) / scores.length : null;
  const counts = plural(view.answers.length, "answer", "answers") +
    (mean === null ? ", none scored" : `, ${scores.length} scored, mean overall ${round0(mean)}`);
  const ended = !view.ended_at ? ""
    : sameDay(view.started_at, view.ended_at) ? ` to ${formatTime(view.ended_at)}`
      : ` to ${formatWhen(view.ended_at)}`;
  const when = formatWhen(view.started_at) + ended;
  return el("header", { class: "session-header" },
    el("h2", {}, `Session ${view.id}`),
    el("p", { class: "session-meta" },
      view.playlist ? el("span", {}, `Playlist ${view.playlist}`) : null,
      el("span", {}, when),
      statusBadge(view.status),
      el("span", {}, counts)));
}

function renderAnswer(answer) {
  const card = answer.complete ? answer.scorecard : null;
  const title = el("h3", {}, `${answer.seq}. `, el("span", { class: "prompt-id" }, answer.prompt_id));
  const meta = el("p", { class: "answer-meta" },
    el("span", { class: "try" }, `Try ${answer.try}`),
    answer.follow_up_of
      ? el("span", { class: "follow-up" }, `↳ Follow-up on ${answer.follow_up_of}`)
      : null,
    el("span", {}, answer.category),
    card ? null : statusBadge(answer.status));
  const question = promptTexts.get(answer.prompt_id);
  const article = el("article", { class: "answer", id: `answer-${answer.seq}`, "data-seq": answer.seq },
    el("header", { class: "answer-header" },
      el("div", {}, title, meta),
      card ? overallBadge(card.overall) : null),
    question ? el("p", { class: "question" }, question) : null,
    answer.question_audio_url
      ? el("p", { class: "question-audio" },
        el("span", { id: `question-audio-${answer.seq}` }, "The question as asked "),
        el("audio", { controls: true, preload: "none", src: answer.question_audio_url,
          "aria-labelledby": `question-audio-${answer.seq}` }))
      : null);
  if (!card) {
    article.append(unfinishedAnswer(answer));
    return article;
  }
  const transcript = answer.transcript || card.transcript;
  const audio = answerAudio(answer);
  const paragraph = transcriptWords(transcript.words || [], card, audio);
  article.append(
    el("div", { class: "answer-body" },
      el("div", { class: "answer-listen" },
        audio,
        el("h4", {}, "Transcript"),
        transcriptLegend(),
        paragraph),
      el("div", { class: "answer-judge" },
        scoreTable(card),
        el("p", { class: "vitals" }, vitalSigns(card).join(" · ")),
        conceptLists(card),
        feedbackList(card))),
    el("div", { class: "charts" },
      el("div", { class: "pace-and-voice" },
        paceChart(card),
        deliveryStrip(card, audio, paragraph)),
      el("figure", { class: "chart history-chart", "data-prompt": answer.prompt_id },
        el("figcaption", {}, `Overall score, every try of ${answer.prompt_id}`),
        el("p", { class: "hint" }, "Loading…"))));
  return article;
}

function overallBadge(overall) {
  return el("p", { class: "overall", title: "Overall score out of 100" },
    el("span", { class: "overall-value" }, round0(overall)),
    el("span", { class: "overall-label" }, "overall"));
}

function unfinishedAnswer(answer) {
  const states = {
    skipped: "Skipped.",
    recording: "Still recording.",
    interrupted: "Interrupted before it was scored; the recording is kept.",
  };
  return el("div", { class: "unfinished" },
    el("p", {}, states[answer.status] || `Not scored (${answer.status}).`),
    answer.status === "skipped" ? null : answerAudio(answer));
}

function answerAudio(answer) {
  return el("audio", { class: "answer-audio", controls: true, preload: "metadata",
    src: answer.audio_url, "aria-label": `Recording of answer ${answer.seq}` });
}

function scoreTable(card) {
  const rows = SCORE_PARTS.filter((part) => card[part] && typeof card[part].score === "number").map((part) => {
    const score = card[part].score;
    return el("tr", {},
      el("th", { scope: "row" }, part[0].toUpperCase() + part.slice(1)),
      el("td", { class: "num" }, round0(score)),
      el("td", { class: "bar-cell", "aria-hidden": "true" },
        el("span", { class: "bar" }, el("span", { class: "bar-fill", style: `width: ${Math.max(0, Math.min(100, score))}%` }))));
  });
  return el("table", { class: "scores" },
    el("caption", {}, "Scores out of 100"),
    el("tbody", {}, rows));
}

/** Pace, length, fillers and pauses, as `viva review` lists them. */
function vitalSigns(card) {
  const pauses = card.pauses.length === 0 ? "no long pauses" : plural(card.pauses.length, "long pause", "long pauses");
  return [
    `${round0(card.wpm)} wpm`,
    `${round0(card.speaking_seconds)} s of speech`,
    plural(card.word_count, "word", "words"),
    plural(card.fillers.count, "filler", "fillers"),
    card.hedges ? plural(card.hedges.count, "hedge", "hedges") : null,
    card.specificity ? plural(card.specificity.count, "concrete detail", "concrete details") : null,
    pauses,
    ...deliveryVitals(card.delivery),
  ].filter((part) => part !== null);
}

/** Pitch movement, level and what was flagged, in a few words each. */
function deliveryVitals(delivery) {
  if (!delivery) return [];
  const names = { monotone: "monotone", too_quiet: "too quiet", clipping: "clipping",
    trailing_off: "trailing off", repeated: "repeated words" };
  return [
    delivery.pitch ? `pitch moves ${delivery.pitch.spread_semitones.toFixed(1)} semitones` : null,
    delivery.level ? `voice at ${round0(delivery.level.speech_dbfs)} dBFS` : null,
    ...(delivery.flags || []).map((f) => names[f.kind] || f.kind),
  ];
}

/** How a concept was matched, and what backs it, in a few words. */
function conceptHow(c) {
  const how = c.matched_by === "meaning" && c.similarity !== null && c.similarity !== undefined
    ? `by meaning, ${c.similarity.toFixed(2)}` : "by phrase";
  const backing = c.backed_by ? `backed by “${c.backed_by}”` : "named only";
  return c.matched_by ? ` (${how}; ${backing})` : "";
}

function conceptLists(card) {
  const hit = card.coverage.concepts.filter((c) => c.hit);
  const missed = card.coverage.concepts.filter((c) => !c.hit);
  return el("div", { class: "concepts" },
    hit.length ? el("h4", {}, "Covered") : null,
    hit.length ? el("ul", { class: "covered" }, hit.map((c) =>
      el("li", { class: c.backed_by || !c.matched_by ? "concept-covered" : "concept-covered concept-unbacked" },
        el("strong", {}, c.name), ` “${c.evidence ?? ""}”`,
        c.at_seconds === null ? null : ` at ${clock(c.at_seconds)}`, conceptHow(c)))) : null,
    missed.length ? el("h4", {}, "Missed") : null,
    missed.length ? el("ul", { class: "missed" }, missed.map((c) =>
      el("li", { class: "concept-missed", title: c.follow_up || null }, c.name,
        (c.rejected || []).length ? ` (not counted: “${c.rejected[0].evidence}”, ${c.rejected[0].why})` : null))) : null,
    el("p", { class: "coverage-method" }, `Matched by ${card.coverage.method || "phrases"}.`));
}

function feedbackList(card) {
  if (!card.feedback.length) return null;
  return el("div", { class: "feedback" },
    el("h4", {}, "Feedback"),
    el("ul", {}, card.feedback.map((line) => el("li", {}, line))));
}

// ---------------------------------------------------------------------------------------------
// The transcript

function transcriptLegend() {
  return el("p", { class: "legend" },
    el("span", { class: "legend-concept" }, "concept heard"), " ",
    el("span", { class: "legend-filler" }, "filler"), " ",
    el("span", { class: "legend-filler by-sound" }, "uh~ heard in the sound"), " ",
    el("span", { class: "legend-pause" }, "long pause"), " ",
    el("span", { class: "legend-note" }, "Select a word to play from it."));
}

/**
 * Which words carry which marks, by the rule `viva review` follows: a concept's evidence is as
 * many words as it has, from the word nearest its `at_seconds`; fillers likewise; a pause goes
 * before the first word that starts after the middle of the silence.
 */
function transcriptMarks(words, card) {
  const n = words.length;
  const nearest = (at) => {
    let best = 0;
    for (let i = 1; i < n; i++) {
      if (Math.abs(words[i].start - at) < Math.abs(words[best].start - at)) best = i;
    }
    return best;
  };
  const span = (at, text) => {
    const first = nearest(at);
    const count = Math.max(1, String(text).split(/\s+/).filter(Boolean).length);
    return [first, Math.min(first + count, n) - 1];
  };
  const concepts = Array.from({ length: n }, () => []);
  const fillers = new Array(n).fill(false);
  const pausesBefore = Array.from({ length: n + 1 }, () => []);
  if (n === 0) return { concepts, fillers, pausesBefore };
  for (const concept of card.coverage.concepts) {
    if (!concept.hit || concept.at_seconds === null || !concept.evidence) continue;
    const [first, last] = span(concept.at_seconds, concept.evidence);
    for (let i = first; i <= last; i++) concepts[i].push(concept.name);
  }
  for (const item of card.fillers.items) {
    const [first, last] = span(item.at_seconds, item.word);
    for (let i = first; i <= last; i++) fillers[i] = true;
  }
  for (const pause of card.pauses) {
    const middle = pause.at_seconds + pause.seconds / 2;
    const at = words.findIndex((w) => w.start >= middle);
    pausesBefore[at === -1 ? n : at].push(pause.seconds);
  }
  return { concepts, fillers, pausesBefore };
}

/** The words as spans with their start times; selecting one plays the recording from there. */
function transcriptWords(words, card, audio) {
  const paragraph = el("p", { class: "transcript" });
  if (!words.length) {
    paragraph.append("(no words)");
    return paragraph;
  }
  const marks = transcriptMarks(words, card);
  const pauseMarker = (seconds) =>
    el("span", { class: "pause", role: "note" }, `${seconds.toFixed(1)} s pause`);
  words.forEach((word, i) => {
    for (const seconds of marks.pausesBefore[i]) paragraph.append(pauseMarker(seconds), " ");
    const names = marks.concepts[i];
    const classes = ["word"];
    if (names.length) classes.push("concept-hit");
    if (marks.fillers[i]) classes.push("filler");
    if (word.by_sound) classes.push("by-sound");
    const fillerTitle = word.by_sound ? "filler heard in the sound (Whisper left it out)" : "filler";
    paragraph.append(el("span", {
      class: classes.join(" "),
      "data-start": word.start,
      "data-end": word.end,
      title: names.length ? names.join(", ") : (marks.fillers[i] ? fillerTitle : null),
    }, word.by_sound ? `${word.text}~` : word.text), " ");
  });
  for (const seconds of marks.pausesBefore[words.length]) paragraph.append(pauseMarker(seconds));
  paragraph.addEventListener("click", (event) => {
    const word = event.target.closest(".word");
    if (word) playFrom(audio, Number(word.dataset.start));
  });
  audio.addEventListener("timeupdate", () => followPlayback(paragraph, audio.currentTime));
  return paragraph;
}

function playFrom(audio, seconds) {
  audio.currentTime = seconds;
  const playing = audio.play();
  if (playing) playing.catch(() => { /* Autoplay refused: the position is still set. */ });
}

/** Outlines the word being heard. */
function followPlayback(paragraph, now) {
  let current = null;
  for (const word of paragraph.querySelectorAll(".word")) {
    if (Number(word.dataset.start) <= now) current = word;
    else break;
  }
  for (const word of paragraph.querySelectorAll(".word.playing")) {
    if (word !== current) word.classList.remove("playing");
  }
  if (current) current.classList.add("playing");
}

// ---------------------------------------------------------------------------------------------
// Charts (inline SVG)

const CHART = { width: 420, height: 180, left: 40, right: 12, top: 14, bottom: 28 };

/** Maps a value range onto pixels. */
function scale(from, to, lo, hi) {
  const span = to - from || 1;
  return (value) => lo + ((value - from) / span) * (hi - lo);
}

function axisLabel(x, y, text, anchor = "middle") {
  return svg("text", { x, y, "text-anchor": anchor, class: "axis-label" }, text);
}

/** Words a minute over time, the target band behind. */
function paceChart(card) {
  const curve = card.pace.curve || [];
  const [low, high] = card.pace.target;
  const figure = el("figure", { class: "chart pace-chart" },
    el("figcaption", {}, `Pace over time (target ${round0(low)} to ${round0(high)} words a minute)`));
  if (!curve.length) {
    figure.append(el("p", { class: "hint" }, "No pace to show: no words were heard."));
    return figure;
  }
  const { width, height, left, right, top, bottom } = CHART;
  const end = Math.max(card.duration_seconds || 0, curve[curve.length - 1].end_seconds);
  const most = Math.max(high * 1.25, ...curve.map((w) => w.wpm * 1.1));
  const yMax = Math.ceil(most / 50) * 50;
  const x = scale(0, end, left, width - right);
  const y = scale(0, yMax, height - bottom, top);
  const points = curve.map((w) => [x((w.start_seconds + w.end_seconds) / 2), y(w.wpm)]);
  const summary = `Pace over ${plural(curve.length, "window", "windows")}: ` +
    curve.map((w) => round0(w.wpm)).join(", ") + ` words a minute; target ${round0(low)} to ${round0(high)}.`;
  figure.append(svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": summary },
    svg("rect", { class: "band", x: left, width: width - right - left, y: y(high), height: y(low) - y(high) }),
    svg("text", { class: "band-label", x: width - right - 4, y: y(high) + 12, "text-anchor": "end" }, `target ${round0(low)}–${round0(high)}`),
    svg("line", { class: "axis", x1: left, x2: width - right, y1: y(0), y2: y(0) }),
    svg("line", { class: "axis", x1: left, x2: left, y1: top, y2: y(0) }),
    [0, low, high, yMax].map((v) => axisLabel(left - 6, y(v) + 4, round0(v), "end")),
    axisLabel(left, height - 8, "0:00", "start"),
    axisLabel(width - right, height - 8, clock(end), "end"),
    curve.map((w) => svg("line", { class: "window", x1: x(w.start_seconds), x2: x(w.end_seconds), y1: y(w.wpm), y2: y(w.wpm) })),
    svg("polyline", { class: "line", points: points.map((p) => p.join(",")).join(" ") }),
    curve.map((w, i) => svg("circle", { class: "point", cx: points[i][0], cy: points[i][1], r: 4 },
      svg("title", {}, `${clock(w.start_seconds)} to ${clock(w.end_seconds)}: ${round0(w.wpm)} words a minute`)))));
  return figure;
}

const STRIP = { width: CHART.width, height: 110, left: CHART.left, right: CHART.right, top: 8, bottom: 22 };

/**
 * Pitch (line, semitones around the median) and level (shaded, dBFS) over time, on the pace
 * curve's time axis so the two read together; trailing phrases, clips and repeated words are
 * marked with the words said there. A cursor follows playback and the word under the pointer,
 * and selecting a moment plays from it.
 */
function deliveryStrip(card, audio, paragraph) {
  const d = card.delivery;
  const figure = el("figure", { class: "chart delivery-strip" },
    el("figcaption", {}, "Voice over time: pitch and level"));
  if (!d || !d.strip || !d.strip.level_dbfs.length) {
    figure.append(el("p", { class: "hint" }, "No pitch or level to show: the recording was not measured."));
    return figure;
  }
  const { width, height, left, right, top, bottom } = STRIP;
  const step = d.strip.step_seconds;
  const levels = d.strip.level_dbfs;
  const curve = card.pace.curve || [];
  const end = Math.max(card.duration_seconds || 0, levels.length * step,
    curve.length ? curve[curve.length - 1].end_seconds : 0);
  const x = scale(0, end, left, width - right);
  const yLevel = scale(-70, 0, height - bottom, top);
  const voiced = d.strip.pitch_hz.filter((f) => f);
  const median = d.pitch ? d.pitch.median_hz : (voiced.length ? voiced[Math.floor(voiced.length / 2)] : 100);
  const semitones = (f) => 12 * Math.log2(f / median);
  const yPitch = scale(-8, 8, height - bottom, top);
  const floor = yLevel(-70);
  const area = [`${x(0)},${floor}`,
    ...levels.map((l, i) => `${x(i * step)},${yLevel(Math.max(-70, l))}`),
    `${x(levels.length * step)},${floor}`].join(" ");
  // The pitch line breaks where the voice was unvoiced.
  const runs = [];
  let run = [];
  d.strip.pitch_hz.forEach((f, i) => {
    if (f) run.push(`${x((i + 0.5) * step)},${yPitch(Math.max(-8, Math.min(8, semitones(f))))}`);
    else if (run.length) { runs.push(run); run = []; }
  });
  if (run.length) runs.push(run);
  const level = d.level;
  const quiet = level ? yLevel(-40) : null;
  const summary = [
    d.pitch ? `Pitch around ${round0(d.pitch.median_hz)} Hz, moving ${d.pitch.spread_semitones.toFixed(1)} semitones` : "No pitch tracked",
    level ? `speech level ${round0(level.speech_dbfs)} dBFS` : null,
    ...(d.flags || []).map((f) => f.kind.replace("_", " ")),
  ].filter(Boolean).join("; ") + ".";
  const cursor = svg("line", { class: "cursor", x1: x(0), x2: x(0), y1: top, y2: height - bottom, visibility: "hidden" });
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": summary },
    svg("polygon", { class: "level", points: area }),
    quiet === null ? null : svg("line", { class: "quiet-line", x1: left, x2: width - right, y1: quiet, y2: quiet },
      svg("title", {}, "Below this line the voice is too quiet (-40 dBFS)")),
    runs.map((points) => svg("polyline", { class: "pitch", points: points.join(" ") })),
    svg("line", { class: "axis", x1: left, x2: width - right, y1: height - bottom, y2: height - bottom }),
    axisLabel(left - 6, top + 8, "+8 st", "end"),
    axisLabel(left - 6, height - bottom, "-8 st", "end"),
    axisLabel(left, height - 6, "0:00", "start"),
    axisLabel(width - right, height - 6, clock(end), "end"),
    (level ? level.trailing : []).map((t) => svg("rect", { class: "trailing", x: x(t.at_seconds), width: Math.max(2, x(t.at_seconds + 0.4) - x(t.at_seconds)), y: top, height: height - bottom - top },
      svg("title", {}, `${clock(t.at_seconds)}: trails off ${round0(t.drop_db)} dB${t.words ? ` (“${t.words}”)` : ""}`))),
    (level ? level.clips : []).map((c) => svg("line", { class: "clip", x1: x(c), x2: x(c), y1: top, y2: top + 10 },
      svg("title", {}, `${clock(c)}: clipped`))),
    (d.repeated || []).flatMap((r) => r.times.map((t) => svg("circle", { class: "repeat", cx: x(t), cy: height - bottom - 4, r: 3 },
      svg("title", {}, `${clock(t)}: “${r.text}” (${r.count} times)`)))),
    cursor);
  const moveCursor = (seconds) => {
    cursor.setAttribute("x1", x(seconds));
    cursor.setAttribute("x2", x(seconds));
    cursor.setAttribute("visibility", "visible");
  };
  audio.addEventListener("timeupdate", () => moveCursor(audio.currentTime));
  paragraph.addEventListener("mouseover", (event) => {
    const word = event.target.closest(".word");
    if (word) moveCursor(Number(word.dataset.start));
  });
  chart.addEventListener("click", (event) => {
    const box = chart.getBoundingClientRect();
    const px = ((event.clientX - box.left) / box.width) * width;
    playFrom(audio, Math.max(0, Math.min(end, ((px - left) / (width - right - left)) * end)));
  });
  figure.append(chart, el("p", { class: "strip-legend" },
    el("span", { class: "legend-pitch" }, "pitch"), " ",
    el("span", { class: "legend-level" }, "level"), " ",
    el("span", { class: "legend-trailing" }, "trailing off"), " ",
    el("span", { class: "legend-repeat" }, "repeated word")));
  return figure;
}

/** Fetches the answer's prompt history (once per prompt) and draws it into its figure. */
async function fillHistoryChart(answer) {
  if (!answer.complete || !answer.scorecard) return;
  const figure = document.querySelector(`#answer-${answer.seq} .history-chart`);
  if (!figure) return;
  if (!historyByPrompt.has(answer.prompt_id)) {
    historyByPrompt.set(answer.prompt_id,
      api(`/api/history?prompt=${encodeURIComponent(answer.prompt_id)}`));
  }
  let points;
  try {
    points = await historyByPrompt.get(answer.prompt_id);
  } catch (e) {
    figure.querySelector(".hint").textContent = "The history could not be loaded: " + e.message;
    return;
  }
  figure.querySelector(".hint")?.remove();
  figure.append(historyChart(points, answer.started_at));
}

/** Overall score per try, oldest first; the try on this page is ringed. */
function historyChart(points, currentAt) {
  if (!points.length) return el("p", { class: "hint" }, "No scored tries yet.");
  const { width, height, left, right, top, bottom } = CHART;
  const x = points.length === 1
    ? () => (left + width - right) / 2
    : scale(0, points.length - 1, left + 8, width - right - 8);
  const y = scale(0, 100, height - bottom, top);
  const summary = `Overall score over ${plural(points.length, "try", "tries")}: ` +
    points.map((p) => round0(p.overall)).join(", ") + ".";
  return svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": summary },
    [0, 50, 100].map((v) => svg("line", { class: v === 0 ? "axis" : "grid", x1: left, x2: width - right, y1: y(v), y2: y(v) })),
    [0, 50, 100].map((v) => axisLabel(left - 6, y(v) + 4, String(v), "end")),
    axisLabel(left + 8, height - 8, shortWhen(points[0].at), "start"),
    points.length > 1
      ? axisLabel(width - right - 8, height - 8, shortWhen(points[points.length - 1].at, points[0].at), "end")
      : null,
    svg("polyline", { class: "line", points: points.map((p, i) => `${x(i)},${y(p.overall)}`).join(" ") }),
    points.map((p, i) => {
      const current = p.at === currentAt;
      return svg("g", {},
        svg("circle", { class: current ? "point current" : "point", cx: x(i), cy: y(p.overall), r: current ? 6 : 4 },
          svg("title", {}, `${formatWhen(p.at)}: overall ${round0(p.overall)}, ${round0(p.wpm)} wpm, coverage ${round0(p.coverage)}` +
            (current ? " (this answer)" : ""))),
        svg("text", { class: "point-label", x: x(i), y: y(p.overall) - 10, "text-anchor": "middle" }, round0(p.overall)));
    }));
}

// ---------------------------------------------------------------------------------------------
// The drill

async function loadPlaylists() {
  const select = document.getElementById("playlist-select");
  try {
    const playlists = await api("/api/playlists");
    select.replaceChildren(...playlists.map((p) =>
      el("option", { value: p.id }, p.name && p.name !== p.id ? `${p.name} (${p.id})` : p.id)));
  } catch (e) {
    select.replaceChildren(el("option", { value: "" }, "No playlists"));
    showError(e);
  }
}

async function loadPromptTexts() {
  try {
    const prompts = await api("/api/prompts");
    promptTexts = new Map(prompts.map((p) => [p.id, p.text]));
  } catch {
    // The page works without question texts; the prompt ids are still shown.
  }
}

async function startDrill(event) {
  event.preventDefault();
  const playlist = document.getElementById("playlist-select").value;
  if (!playlist) return;
  hideMessage();
  try {
    // A person at the page steers between questions, as at the terminal.
    await api("/api/rounds", { body: { playlist, pause_between: true } });
    setLive("live-state", `Starting ${playlist}…`);
    watchRound();
  } catch (e) {
    showError(e);
  }
}

async function steerRound(action) {
  hideMessage();
  try {
    await api(`/api/rounds/current/${action}`, { body: {} });
  } catch (e) {
    showError(e);
  }
}

/**
 * Listens to the daemon's round events. The stream stays open across rounds (it carries the
 * current round and the next), and the browser reconnects it if the connection drops.
 */
function watchRound() {
  if (roundEvents && roundEvents.readyState !== EventSource.CLOSED) return;
  roundEvents = new EventSource("/api/rounds/current/events", { withCredentials: true });
  const on = (name, handler) => roundEvents.addEventListener(name, (event) => {
    // The stream's own `error` (a dropped connection) carries no data; the browser retries.
    if (!(event instanceof MessageEvent)) return;
    let data = null;
    try {
      data = JSON.parse(event.data);
    } catch {
      data = { text: event.data };
    }
    handler(data || {});
  });
  on("started", (d) => {
    setLive("live-state", `Drill ${d.playlist ?? ""} started: session ${d.session_id ?? ""}.`);
    ["live-question", "live-partial", "live-score"].forEach((id) => setLive(id, null));
    loadSessions().catch(showError);
  });
  on("say", (d) => setLive("live-question", d.text));
  on("question", (d) => {
    const tryNumber = d.try_number ?? d.try;
    const follow = d.follow_up_of ? ` · follow-up on ${d.follow_up_of}` : "";
    setLive("live-state", `Question: ${d.prompt_id ?? ""}${tryNumber ? ` · try ${tryNumber}` : ""}${follow}`);
    setLive("live-question", d.text || promptTexts.get(d.prompt_id) || d.prompt_id);
    setLive("live-partial", null);
    setLive("live-score", null);
  });
  on("recording", () => {
    setLive("live-state", "Recording your answer…");
    document.getElementById("live-clock").textContent = "";
    document.getElementById("live-level-row").hidden = false;
  });
  on("level", showLevel);
  on("partial", (d) => setLive("live-partial", d.text));
  on("scorecard", (d) => {
    const card = d.scorecard || d;
    document.getElementById("live-level-row").hidden = true;
    setLive("live-state", "Scored. Next, Repeat, Redo, Skip or Stop.");
    setLive("live-score", `Overall ${round0(card.overall)}` +
      (card.feedback && card.feedback.length ? ` — ${card.feedback[0]}` : ""));
    loadSessions().catch(showError);
  });
  on("ended", (d) => {
    document.getElementById("live-level-row").hidden = true;
    setLive("live-state", `Drill ended (${d.status ?? "done"}, ${plural(d.answers ?? 0, "answer", "answers")}).`);
    loadSessions().catch(showError);
    if (d.session_id) location.hash = "#/sessions/" + encodeURIComponent(d.session_id);
  });
  // The daemon reports a round that failed as a `round_error` event with a message.
  on("round_error", (d) => {
    document.getElementById("live-level-row").hidden = true;
    setLive("live-state", "The drill stopped.");
    showError(d.message);
    loadSessions().catch(showError);
  });
}

/** The microphone level, from RMS amplitude to a 60 dB scale. */
function showLevel(d) {
  const rms = Number(d.rms ?? d.level ?? 0);
  const level = rms > 0 ? Math.min(1, Math.max(0, (20 * Math.log10(rms) + 60) / 60)) : 0;
  const meter = document.getElementById("live-level");
  meter.value = level;
  meter.textContent = `${Math.round(level * 100)}%`;
  if (d.seconds !== undefined) {
    document.getElementById("live-clock").textContent =
      clock(d.seconds) + (d.speaking ? " · speaking" : "");
  }
  setLive("live-quiet", d.too_quiet ? "Too quiet: move closer to the microphone or raise its input level." : null);
}

/** Sets a line of the live panel; `null` hides it. */
function setLive(id, text) {
  const node = document.getElementById(id);
  node.textContent = text ?? "";
  node.hidden = text === null || text === undefined || text === "";
}

async function showDaemon() {
  try {
    const health = await api("/api/health");
    const model = String(health.model || "").split("/").pop();
    document.getElementById("daemon").textContent = `viva ${health.version}` + (model ? ` · model ${model}` : "");
    if (health.round_running) setLive("live-state", "A drill is running.");
  } catch (e) {
    showError(e);
  }
}

// ---------------------------------------------------------------------------------------------

async function start() {
  document.getElementById("message-close").addEventListener("click", hideMessage);
  document.getElementById("drill-form").addEventListener("submit", startDrill);
  for (const button of document.querySelectorAll(".drill-controls button")) {
    button.addEventListener("click", () => steerRound(button.dataset.action));
  }
  window.addEventListener("hashchange", route);
  showDaemon();
  loadPlaylists();
  watchRound();
  await loadPromptTexts();
  await Promise.all([loadSessions().catch(showError), route()]);
}

start();
