// Rathaus citizen chatbot: one script tag renders a chat into a shadow root. The session lives in memory
// only (no cookies, no storage); answers arrive whole and are announced once. See docs/decisions/0012.
(function () {
  "use strict";
  const script = document.currentScript || document.querySelector("script[data-bot]");
  if (!script || !script.dataset.bot || !script.src) return;
  const API = new URL(script.src).origin + "/api/widget/" + encodeURIComponent(script.dataset.bot);
  const NAMES = {de: "Deutsch", en: "English", tr: "Türkçe", uk: "Українська", ar: "العربية", ru: "Русский", fr: "Français", pl: "Polski", es: "Español", it: "Italiano"};
  const RTL = ["ar", "fa", "he", "ur"];
  const T = {
    de: {
      open: "Chat mit der KI", close: "Chat schließen", log: "Unterhaltung",
      notice: "Sie chatten mit einer KI. Die Antworten werden automatisch erstellt und können Fehler enthalten.",
      privacy: "Datenschutzhinweise", newTab: " (öffnet in neuem Tab)", easy: "Leichte Sprache", language: "Sprache",
      question: "Ihre Frage", send: "Senden", count: "{n} von {max} Zeichen", over: " – bitte kürzen",
      starters: "Häufige Fragen", writing: "Antwort wird erstellt …", loading: "Wird geladen …",
      you: "Sie", bot: "KI", notSent: "Nicht gesendet.", sources: "Quellen:", source: "Quelle: {title}",
      rate: "Rückmeldung zu dieser Antwort", helpful: "Hilfreich", unhelpful: "Nicht hilfreich",
      thanks: "Danke für Ihre Rückmeldung.",
      declined: "Möchten Sie Ihre Frage einem Menschen stellen?",
      human: "Mit einem Menschen sprechen", hoIntro: "Schreiben Sie uns Ihr Anliegen. Die Stadt meldet sich bei Ihnen.",
      hoRequired: "Felder mit * müssen ausgefüllt werden.", name: "Name (freiwillig)", contact: "E-Mail oder Telefon",
      message: "Ihr Anliegen",
      consent: "Ich bin einverstanden, dass die Stadt meine Angaben zur Bearbeitung speichert.",
      submit: "Anfrage senden", cancel: "Abbrechen", sending: "Wird gesendet …",
      needContact: "Bitte geben Sie Ihre E-Mail-Adresse oder Telefonnummer an.",
      needMessage: "Bitte beschreiben Sie Ihr Anliegen.",
      needConsent: "Bitte stimmen Sie zu, damit die Stadt Ihre Anfrage bearbeiten kann.",
      received: "Ihre Anfrage ist eingegangen. Ihre Vorgangsnummer: {ref}",
      unavailable: "Der Chat ist auf dieser Seite nicht verfügbar.",
      rate_limited: "Gerade kommen sehr viele Fragen an. Bitte warten Sie {wait} und versuchen Sie es dann noch einmal.",
      quota_exhausted: "Der Chat kann heute keine weiteren Fragen beantworten. Bitte warten Sie {wait} und versuchen Sie es dann noch einmal.",
      message_too_long: "Ihre Frage ist zu lang. Bitte kürzen Sie sie auf höchstens {max} Zeichen.",
      invalid: "Bitte prüfen Sie Ihre Angaben.",
      network: "Keine Verbindung zum Server. Bitte prüfen Sie Ihre Internetverbindung und versuchen Sie es noch einmal.",
      timeout: "Die Antwort dauert zu lange. Bitte versuchen Sie es noch einmal.",
      failed: "Das hat leider nicht geklappt. Bitte versuchen Sie es später noch einmal.",
      moment: "einen Moment", s: ["Sekunde", "Sekunden"], m: ["Minute", "Minuten"], h: ["Stunde", "Stunden"],
    },
    en: {
      open: "Chat with the AI", close: "Close chat", log: "Conversation",
      notice: "You are chatting with an AI. Answers are generated automatically and may contain mistakes.",
      privacy: "Privacy notice", newTab: " (opens in a new tab)", easy: "Easy language", language: "Language",
      question: "Your question", send: "Send", count: "{n} of {max} characters", over: " – please shorten",
      starters: "Frequent questions", writing: "Writing the answer …", loading: "Loading …",
      you: "You", bot: "AI", notSent: "Not sent.", sources: "Sources:", source: "source: {title}",
      rate: "Feedback on this answer", helpful: "Helpful", unhelpful: "Not helpful",
      thanks: "Thank you for your feedback.",
      declined: "Would you like to ask a person?",
      human: "Talk to a person", hoIntro: "Tell us what you need. The city will get back to you.",
      hoRequired: "Fields marked * are required.", name: "Name (optional)", contact: "E-mail or phone",
      message: "Your request",
      consent: "I agree that the city stores my details to handle my request.",
      submit: "Send request", cancel: "Cancel", sending: "Sending …",
      needContact: "Please enter your e-mail address or phone number.",
      needMessage: "Please describe your request.",
      needConsent: "Please agree so that the city can handle your request.",
      received: "Your request has been received. Your reference number: {ref}",
      unavailable: "The chat is not available on this page.",
      rate_limited: "Many questions are arriving right now. Please wait {wait} and then try again.",
      quota_exhausted: "The chat cannot answer any more questions today. Please wait {wait} and then try again.",
      message_too_long: "Your question is too long. Please shorten it to at most {max} characters.",
      invalid: "Please check your entries.",
      network: "No connection to the server. Please check your internet connection and try again.",
      timeout: "The answer is taking too long. Please try again.",
      failed: "Sorry, that did not work. Please try again later.",
      moment: "a moment", s: ["second", "seconds"], m: ["minute", "minutes"], h: ["hour", "hours"],
    },
  };
  const CSS = `
:host{all:initial}
*{box-sizing:border-box}
[hidden]{display:none!important}
.w{font:400 max(1rem,16px)/1.5 "Fira Sans","Segoe UI",Roboto,Arial,sans-serif;color:#171a1f;--act:#1b3f8f;--focus:#171a1f}
.vh{position:absolute;width:1px;height:1px;margin:-1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
button,input,select,textarea{font:inherit;color:inherit;margin:0}
button{cursor:pointer}
:focus-visible{outline:3px solid var(--focus);outline-offset:2px;box-shadow:0 0 0 7px #fff}
input:focus-visible,select:focus-visible,textarea:focus-visible{box-shadow:none}
a{color:var(--act);text-decoration:underline;text-underline-offset:.15em}
a:focus-visible{box-shadow:none;border-radius:2px}
.btn{display:inline-flex;align-items:center;gap:.4em;min-height:2.75em;padding:.45em 1em;border:2px solid var(--act);border-radius:.25em;background:var(--act);color:#fff;font-weight:600;text-align:start}
.btn:hover{text-decoration:underline}
.btn:disabled{opacity:.55;cursor:not-allowed;text-decoration:none}
.sec{background:#fff;color:var(--act)}
.sec[aria-pressed=true]{background:var(--act);color:#fff}
.sec[aria-disabled=true]{border-style:dashed;border-color:#4a4f63;color:#4a4f63;cursor:not-allowed;text-decoration:none}
.launcher{position:fixed;right:1em;bottom:1em;z-index:2147483000;border-radius:2em;padding:.6em 1.2em;box-shadow:0 2px 8px rgba(0,0,0,.35);border-color:var(--hb);background:var(--hb);color:var(--hc)}
.launcher:focus-visible{box-shadow:0 0 0 7px #fff}
.panel{position:fixed;right:1em;bottom:5em;z-index:2147483001;display:flex;flex-direction:column;width:min(26em,calc(100vw - 2em));height:min(42em,calc(100vh - 6.5em));background:#fff;border:1px solid #6e7597;border-radius:.5em;box-shadow:0 6px 24px rgba(0,0,0,.3);overflow:hidden;transition:opacity .15s,transform .15s;animation:in .15s}
@keyframes in{from{opacity:0;transform:translateY(.5em)}}
@media (max-width:32em),(max-height:30em){.panel{inset:0;width:auto;height:auto;border-radius:0;border:0}}
.head{display:flex;align-items:center;gap:.6em;padding:.6em .6em .6em 1em;background:var(--hb);color:var(--hc);--focus:var(--hc)}
.head :focus-visible{box-shadow:none}
.head img{width:2em;height:2em;object-fit:contain;flex:none}
h2{flex:1;margin:0;font-size:1.15em;line-height:1.3;font-weight:700}
.x{flex:none;display:grid;place-items:center;width:2.75em;height:2.75em;padding:0;border:2px solid transparent;border-radius:.25em;background:none;color:inherit}
.x:hover{border-color:currentColor}
svg{width:1.25em;height:1.25em;flex:none;fill:none;stroke:currentColor;stroke-width:2.2;stroke-linecap:round;stroke-linejoin:round}
.body{flex:1;overflow-y:auto;padding:.75em 1em;position:relative;overscroll-behavior:contain}
.notice{flex:none;padding:.4em 1em .4em .75em;border-left:4px solid var(--act);border-bottom:1px solid #6e7597;background:#eef1f8;font-size:.875em;line-height:1.4}
.notice p{margin:0}
.ctl{display:flex;flex-wrap:wrap;align-items:center;gap:.5em 1.25em;margin-bottom:.75em}
.sw{display:inline-flex;align-items:center;gap:.5em}
.sw input{appearance:none;position:relative;width:2.75em;height:1.5em;border:2px solid #4a4f63;border-radius:1em;background:#fff;cursor:pointer;flex:none}
.sw input::before{content:"";position:absolute;top:.15em;left:.15em;width:.9em;height:.9em;border-radius:50%;background:#4a4f63;transition:left .15s}
.sw input:checked{background:var(--act);border-color:var(--act)}
.sw input:checked::before{left:1.35em;background:#fff}
.sw label,.lang label{cursor:pointer}
.lang{display:inline-flex;align-items:center;gap:.5em}
select,input[type=text],textarea{border:2px solid #4a4f63;border-radius:.25em;background:#fff;padding:.4em .5em;min-height:2.75em}
.log{display:grid;grid-template-columns:minmax(0,1fr);gap:.75em}
.msg{padding:.6em .8em;border-radius:.5em;border:1px solid #6e7597;overflow-wrap:anywhere;max-width:100%}
.msg>:last-child{margin-bottom:0}
.me{justify-self:end;background:#eef1f8;border-color:#eef1f8;max-width:90%;white-space:pre-wrap}
.who{display:block;font-size:.85em;font-weight:700;color:#4a4f63;white-space:normal}
p.txt{margin:0}
.txt>:first-child{margin-top:0}
.txt>:last-child{margin-bottom:0}
.txt pre{white-space:pre-wrap}
.src{margin:.5em 0 0;font-size:.9em}
.src ol{margin:.25em 0 0;padding-inline-start:1.5em}
.fb{display:flex;flex-wrap:wrap;gap:.5em;margin-top:.6em}
.fb .btn,.st .btn{min-height:2.5em;padding:.3em .8em;font-weight:400}
.st{display:flex;flex-wrap:wrap;gap:.5em;margin:.75em 0 0;padding:0;list-style:none}
.err{color:#a51d1d;font-weight:600;margin:.25em 0 0}
.err::before{content:"! ";content:"! "/"";font-weight:700}
.ho{margin-top:1em;padding:.75em;border:1px solid #6e7597;border-radius:.5em;display:grid;grid-template-columns:minmax(0,1fr);gap:.75em}
.ho h3{margin:0;font-size:1.05em}
.ho p{margin:0}
.f{display:grid;grid-template-columns:minmax(0,1fr);gap:.25em}
.f label{font-weight:600}
.chk{display:grid;grid-template-columns:auto minmax(0,1fr);gap:.5em;align-items:start}
.chk input{width:1.4em;height:1.4em;margin:.1em 0 0;accent-color:var(--act)}
[aria-invalid=true]{border-color:#a51d1d;border-width:3px}
.row{display:flex;flex-wrap:wrap;gap:.5em}
.done{padding:.75em;border:2px solid #0b6e4f;border-radius:.5em;font-weight:600}
.foot{border-top:1px solid #6e7597;padding:.5em 1em .75em;display:grid;grid-template-columns:minmax(0,1fr);gap:.3em}
.foot label{font-weight:600}
.q{display:flex;gap:.5em;align-items:flex-end}
textarea{flex:1;min-width:0;resize:vertical;max-height:10em}
.count{margin:0;font-size:.85em;color:#4a4f63}
.status{margin:0;font-size:.9em;min-height:0}
.status:empty{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
.status.bad{color:#a51d1d;font-weight:600}
@media (max-height:30em){.panel{overflow-y:auto}.body{flex:none;overflow:visible}}
@media (prefers-reduced-motion:reduce){*,::before,::after{transition:none!important;animation:none!important;scroll-behavior:auto!important}}
@media (forced-colors:active){.sw input:checked::before{background:Highlight}.btn:disabled{opacity:1}}`;

  let lang = (script.dataset.lang || (/^en/i.test(document.documentElement.lang) ? "en" : "de")).toLowerCase().split("-")[0];
  let config = null;
  let max = 500;
  let sid = null;
  let busy = false;
  let lastQuestion = "";
  let handoffForm = null;
  const labels = [];
  const ui = () => T[lang] || T.en;
  const t = (key, params) => String(ui()[key]).replace(/\{(\w+)\}/g, (_, k) => params[k]);

  function h(tag, attrs, ...kids) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v == null || v === false) continue;
      if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? "" : v);
    }
    el.append(...kids.filter((kid) => kid != null));
    return el;
  }
  // Keeps an element's text (or an attribute) in the interface language; `make` builds it from params.
  function say(el, key, attr, make) {
    const entry = {el, key, attr, make};
    const index = labels.findIndex((e) => e.el === el && e.attr === attr);
    if (index < 0) labels.push(entry);
    else labels[index] = entry;
    apply(entry);
    return el;
  }
  function apply({el, key, attr, make}) {
    const value = make ? make() : t(key, {});
    if (attr) el.setAttribute(attr, value);
    else if (el.textContent !== value) el.textContent = value;  // no needless changes in the live log
  }
  const text = (tag, key, attrs) => say(h(tag, attrs), key);
  const icon = (d) => {
    const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    svg.innerHTML = `<path d="${d}"/>`;
    return svg;
  };
  const newTab = () => say(h("span", {class: "vh"}), "newTab");
  function outLink(href, label) {
    return h("a", {href, target: "_blank", rel: "noopener noreferrer"}, label, newTab());
  }

  // Header colours: the bot's colour with white or black text, whichever has the higher contrast.
  function luminance(hex) {
    const m = /^#?([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(hex || "");
    if (!m) return null;
    const full = m[1].length === 3 ? m[1].replace(/./g, "$&$&") : m[1];
    const [r, g, b] = [0, 2, 4].map((i) => {
      const c = parseInt(full.slice(i, i + 2), 16) / 255;
      return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  }
  const contrast = (a, b) => (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  function paint(color) {
    const bg = luminance(color) == null ? "#004b87" : color.startsWith("#") ? color : "#" + color;
    const l = luminance(bg);
    const dark = contrast(l, luminance("#1b1b1b")) >= 4.5 ? "#1b1b1b" : "#000000";
    box.style.setProperty("--hb", bg);
    box.style.setProperty("--hc", contrast(l, 1) >= contrast(l, luminance(dark)) ? "#ffffff" : dark);
  }

  // The API: JSON in, JSON out, problem JSON with `code` on errors; never cookies.
  async function call(method, path, body) {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), 120000);
    let response;
    try {
      response = await fetch(API + path, {
        method, credentials: "omit", cache: "no-store", signal: abort.signal,
        headers: body ? {"Content-Type": "application/json"} : {},
        body: body ? JSON.stringify(body) : undefined,
      });
    } catch (error) {
      throw {code: error && error.name === "AbortError" ? "timeout" : "network"};
    } finally {
      clearTimeout(timer);
    }
    let data = null;
    try { data = response.status === 204 ? null : await response.json(); } catch (error) { data = null; }
    if (!response.ok) {
      const retry = Number(response.headers.get("Retry-After")) || Number(data && data.retry_after) || 0;
      throw {code: (data && data.code) || "failed", status: response.status, retry};
    }
    return data;
  }
  async function session() {
    if (!sid) sid = call("POST", "/sessions", {}).then((d) => d.session);
    try { return await sid; } catch (error) { sid = null; throw error; }
  }
  // A call within the session; a session the server forgot is replaced once.
  async function inSession(path, body) {
    try {
      return await call("POST", path, Object.assign({session: await session()}, body));
    } catch (error) {
      if (error.code !== "unknown_session") throw error;
      sid = null;
      return call("POST", path, Object.assign({session: await session()}, body));
    }
  }
  function waitText(seconds) {
    seconds = Math.ceil(seconds);
    if (!seconds) return t("moment", {});
    const [n, unit] = seconds < 90 ? [seconds, "s"] : seconds < 5400 ? [Math.ceil(seconds / 60), "m"] : [Math.ceil(seconds / 3600), "h"];
    return n + " " + ui()[unit][n === 1 ? 0 : 1];
  }
  function problem(error) {
    const code = error.code;
    if (code === "origin_not_allowed" || code === "unknown_bot") return t("unavailable", {});
    if (code === "rate_limited" || code === "quota_exhausted") return t(code, {wait: waitText(error.retry)});
    if (["message_too_long", "invalid", "network", "timeout"].includes(code)) return t(code, {max});
    return t("failed", {});
  }

  // The interface.
  const host = h("div", {"data-rathaus-widget": ""});
  const root = host.attachShadow({mode: "open"});
  const box = h("div", {class: "w"});
  const launcher = h("button", {type: "button", class: "btn launcher", "aria-expanded": "false", "aria-controls": "panel"},
    icon("M4 5h16v11H9l-5 4z"), text("span", "open"));
  const title = h("h2", {id: "title"});
  const logo = h("img", {alt: "", hidden: true});
  const closer = say(h("button", {type: "button", class: "x"}, icon("M6 6l12 12M18 6L6 18")), "close", "aria-label");
  const privacy = h("a", {target: "_blank", rel: "noopener noreferrer", hidden: true}, text("span", "privacy"), newTab());
  const easy = h("input", {type: "checkbox", role: "switch", id: "easy"});
  const langSelect = h("select", {id: "lang"});
  const langBox = h("span", {class: "lang", hidden: true}, text("label", "language", {for: "lang"}), langSelect);
  const human = h("button", {type: "button", class: "btn sec", hidden: true, onclick: () => openHandoff(human)},
    text("span", "human"));
  const log = say(h("div", {role: "log", "aria-live": "polite", class: "log"}), "log", "aria-label");
  const starters = h("ul", {class: "st", hidden: true});
  const notice = h("div", {class: "notice"}, text("p", "notice"), h("p", null, privacy));  // always in view
  const scroller = h("div", {class: "body"},
    h("div", {class: "ctl"}, h("span", {class: "sw"}, easy, text("label", "easy", {for: "easy"})), langBox, human),
    log, starters);
  const status = h("p", {class: "status", role: "status"});
  const field = h("textarea", {id: "q", rows: "2", "aria-describedby": "count", autocomplete: "off"});
  const sendButton = h("button", {type: "submit", class: "btn"}, text("span", "send"));
  const counter = say(h("p", {id: "count", class: "count"}), null, null,
    () => t("count", {n: field.value.length, max}) + (field.value.length > max ? t("over", {}) : ""));
  const form = h("form", {class: "foot", novalidate: true}, status, text("label", "question", {for: "q"}),
    h("div", {class: "q"}, field, sendButton), counter);
  const panel = h("div", {id: "panel", class: "panel", role: "dialog", "aria-modal": "false", "aria-labelledby": "title", hidden: true},
    h("div", {class: "head"}, logo, title, closer), notice, scroller, form);
  box.append(launcher, panel);
  root.append(h("style", null, CSS), box);
  title.textContent = t("open", {});
  paint(null);

  function relabel() {
    box.lang = T[lang] ? lang : "en";
    log.setAttribute("aria-busy", "true");  // the log's labels change language: nothing new to announce
    labels.forEach(apply);
    counted();
    setTimeout(() => log.removeAttribute("aria-busy"), 0);
  }
  function show(message, bad) {
    status.textContent = message;
    status.classList.toggle("bad", !!bad);
  }
  const scrollTo = (el) => el.scrollIntoView({block: "nearest"});
  let refusal = null;  // the note that the chat is not available here
  // Where the panel covers the whole screen it is modal: Tab stays inside it (nothing behind it is visible).
  const covers = window.matchMedia("(max-width:32em),(max-height:30em)");
  const focusables = () => [...panel.querySelectorAll(
    "a[href],button:not([disabled]),textarea,input:not([disabled]),select,[tabindex]:not([tabindex='-1'])",
  )].filter((el) => el.getClientRects().length);
  function open() {
    panel.setAttribute("aria-modal", covers.matches ? "true" : "false");
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    (refusal || field).focus();
    if (!config) load();
  }
  function close() {
    panel.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
    launcher.focus();
  }
  launcher.addEventListener("click", () => (panel.hidden ? open() : close()));
  closer.addEventListener("click", close);
  panel.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !event.defaultPrevented) { event.preventDefault(); close(); }
    if (event.key !== "Tab" || !covers.matches) return;
    const all = focusables();
    const edge = event.shiftKey ? all[0] : all[all.length - 1];
    if (all.length && root.activeElement === edge) {
      event.preventDefault();
      (event.shiftKey ? all[all.length - 1] : all[0]).focus();
    }
  });

  let loading = null;  // the configuration's promise; kept once loaded or refused
  function load() {
    if (loading) return loading;
    show(t("loading", {}));
    return (loading = call("GET", "").then(configure, async (error) => {
      if (error.code === "network") {
        // A refused origin gets no CORS headers, which looks like a network error: ask once more without
        // reading the answer; if the server answers at all, the chat is not allowed on this page.
        try {
          await fetch(API, {mode: "no-cors", credentials: "omit", cache: "no-store"});
          error = {code: "origin_not_allowed"};
        } catch (ignored) { /* the network is down */ }
      }
      unavailable(error);
    }));
  }
  function unavailable(error) {
    if (error.code === "network" || error.code === "timeout") {
      loading = null;  // the next try loads again
      show(problem(error), true);
      return;
    }
    show("");
    form.hidden = true;
    refusal = say(h("p", {class: "err", tabindex: "-1"}), null, null, () => problem(error));
    scroller.append(refusal);
    if (!panel.hidden) refusal.focus();
  }
  function configure(data) {
    config = data || {};
    show("");
    title.textContent = config.title || t("open", {});
    if (config.logo_url) { logo.src = config.logo_url; logo.hidden = false; }
    if (config.privacy_url) { privacy.href = config.privacy_url; privacy.hidden = false; }
    if (config.max_chars) max = config.max_chars;
    paint(config.color);
    const languages = (config.languages && config.languages.length ? config.languages : ["de", "en"]).map(String);
    if (!languages.includes(lang)) lang = languages.includes("de") ? "de" : languages[0];
    langSelect.replaceChildren(...languages.map((code) =>
      h("option", {value: code, lang: code, selected: code === lang}, NAMES[code] || code)));
    langBox.hidden = languages.length < 2;
    human.hidden = !config.handoff;
    if (config.greeting) log.append(h("div", {class: "msg"}, say(h("span", {class: "who"}), "bot"), h("p", {class: "txt"}, config.greeting)));
    const list = config.starters || [];
    starters.replaceChildren(...list.map((q) => h("li", null,
      h("button", {type: "button", class: "btn sec", onclick: () => send(q)}, q))));
    starters.hidden = !list.length;
    relabel();
  }
  langSelect.addEventListener("change", () => { lang = langSelect.value; relabel(); });
  function counted() {
    field.setAttribute("aria-invalid", String(field.value.length > max));
    apply(labels.find((e) => e.el === counter));
  }
  field.addEventListener("input", counted);
  field.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing && !event.altKey && !event.ctrlKey) {
      event.preventDefault();
      send();
    }
  });
  form.addEventListener("submit", (event) => { event.preventDefault(); send(); });

  // Sends the field's text, or a starter question (`preset`) without touching what is in the field.
  async function send(preset) {
    if (!config) {
      await load();  // the citizen was quicker than the configuration
      if (!config) return;
    }
    if (busy) return;
    const typed = preset == null;
    const message = (typed ? field.value : preset).trim();
    const language = lang;
    if (!message) { field.focus(); return; }
    if (message.length > max) { show(t("message_too_long", {max}), true); field.focus(); return; }
    busy = true;
    if (root.activeElement !== field) field.focus();  // a disabled or removed button would drop the focus
    sendButton.disabled = true;
    starters.hidden = true;
    lastQuestion = message;
    if (typed) { field.value = ""; counted(); }
    const mine = h("div", {class: "msg me"}, say(h("span", {class: "who"}), "you"), message);
    log.append(mine);
    scrollTo(mine);
    show(t("writing", {}));
    try {
      const answer = await inSession("/messages", {message, language, easy: easy.checked});
      show("");
      const shown = render(answer, language);
      log.append(shown);
      scrollTo(shown);
    } catch (error) {
      // A question that timed out reached the server: it was sent, only its answer is missing.
      if (error.code !== "timeout") mine.append(" ", say(h("em", {class: "who"}), "notSent"));
      if (!field.value) { field.value = message; counted(); }  // the citizen's text is never lost
      show(problem(error), true);
    } finally {
      busy = false;
      sendButton.disabled = false;
    }
  }

  function render(answer, language) {
    language = answer.language || language;  // the language the answer is really in
    const body = h("div", {class: "txt", lang: language, dir: RTL.includes(language) ? "rtl" : "ltr"});
    body.innerHTML = answer.html || "";  // safe HTML, sanitised by the server
    if (!answer.html) body.textContent = answer.text || "";
    const sources = answer.sources || [];
    body.querySelectorAll("a[href]").forEach((a) => {
      const cited = /^\[(\d+)\]$/.exec(a.textContent.trim());
      const source = cited && sources.find((s) => String(s.number) === cited[1]);
      if (source) a.append(say(h("span", {class: "vh"}), null, null, () => " " + t("source", {title: source.title})));
      a.target = "_blank";
      a.rel = "noopener noreferrer";
      a.append(newTab());
    });
    const el = h("div", {class: "msg"}, say(h("span", {class: "who"}), "bot"), body);
    if (sources.length) {
      el.append(h("div", {class: "src"}, text("span", "sources"),
        h("ol", null, ...sources.map((s) => h("li", null, s.url ? outLink(s.url, s.title) : s.title)))));
    }
    if (answer.declined && config.handoff) {
      const ask = h("button", {type: "button", class: "btn sec", onclick: () => openHandoff(ask)}, text("span", "human"));
      el.append(text("p", "declined"), ask);
    }
    if (answer.id != null) {
      const buttons = [true, false].map((helpful) => h("button", {
        type: "button", class: "btn sec", "aria-pressed": "false",
        onclick: () => feedback(answer.id, helpful, buttons, buttons[helpful ? 0 : 1]),
      }, icon(helpful ? "M7 11v9H4v-9zM7 11l4-8c1.5 0 2.5 1 2.2 2.6L12.6 9H19a2 2 0 0 1 2 2.3l-1.2 6.9A2 2 0 0 1 17.8 20H7"
        : "M7 13V4H4v9zM7 13l4 8c1.5 0 2.5-1 2.2-2.6L12.6 15H19a2 2 0 0 0 2-2.3l-1.2-6.9A2 2 0 0 0 17.8 4H7"),
      text("span", helpful ? "helpful" : "unhelpful")));
      el.append(say(h("div", {class: "fb", role: "group"}, ...buttons), "rate", "aria-label"));
    }
    return el;
  }
  // One vote per answer (the server counts the first); the other button is then marked unavailable.
  async function feedback(id, helpful, buttons, chosen) {
    if (buttons.some((b) => b.getAttribute("aria-pressed") === "true")) return;
    buttons.forEach((b) => {
      b.setAttribute("aria-pressed", String(b === chosen));
      if (b !== chosen) b.setAttribute("aria-disabled", "true");
    });
    try {
      await inSession("/feedback", {message: id, helpful});
      show(t("thanks", {}));
    } catch (error) {
      buttons.forEach((b) => { b.setAttribute("aria-pressed", "false"); b.removeAttribute("aria-disabled"); });
      show(problem(error), true);
    }
  }

  // Hand-off to a person: a small form inside the panel.
  function openHandoff(opener) {
    if (handoffForm) { handoffForm.querySelector("input").focus(); return; }
    let sending = false;
    const fields = {};
    const row = (key, control, required) => {
      const error = h("p", {id: control.id + "-e", class: "err", hidden: true});
      fields[key] = {control, error};
      control.required = required;
      const star = required ? h("span", {"aria-hidden": "true"}, " *") : null;
      return h("div", {class: control.type === "checkbox" ? "f chk" : "f"},
        ...(control.type === "checkbox"
          ? [control, h("label", {for: control.id}, text("span", key), star), h("span"), error]
          : [h("label", {for: control.id}, text("span", key), star), control, error]));
    };
    const local = h("p", {role: "status"});
    const submit = h("button", {type: "submit", class: "btn"}, text("span", "submit"));
    const cancel = h("button", {type: "button", class: "btn sec", onclick: () => dismiss(true)}, text("span", "cancel"));
    const heading = text("h3", "human", {id: "ho-title"});
    handoffForm = h("form", {class: "ho", novalidate: true, "aria-labelledby": "ho-title"},
      heading, text("p", "hoIntro"), text("p", "hoRequired"),
      row("name", h("input", {type: "text", id: "ho-name", autocomplete: "name", maxlength: "200"}), false),
      row("contact", h("input", {type: "text", id: "ho-contact", autocomplete: "email", maxlength: "200"}), true),
      row("message", h("textarea", {id: "ho-message", rows: "3", maxlength: "5000"}), true),
      row("consent", h("input", {type: "checkbox", id: "ho-consent"}), true),
      local, h("div", {class: "row"}, submit, cancel));
    fields.message.control.value = lastQuestion;
    function dismiss(refocus) {
      handoffForm.remove();
      handoffForm = null;
      if (refocus) (opener.isConnected ? opener : field).focus();
    }
    function flag(key, message) {
      const {control, error} = fields[key];
      control.setAttribute("aria-invalid", String(!!message));
      if (message) control.setAttribute("aria-describedby", error.id);
      else control.removeAttribute("aria-describedby");
      error.hidden = !message;
      say(error, null, null, () => (message ? t(message, {}) : ""));
      return !message;
    }
    handoffForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (sending) return;
      const value = (key) => fields[key].control.value.trim();
      const ok = [
        flag("contact", value("contact").length >= 3 ? null : "needContact"),
        flag("message", value("message") ? null : "needMessage"),
        flag("consent", fields.consent.control.checked ? null : "needConsent"),
      ];
      const first = ["contact", "message", "consent"][ok.indexOf(false)];
      if (first) { fields[first].control.focus(); return; }
      sending = true;
      local.className = "";
      say(local, "sending");
      try {
        const data = await inSession("/handoff", {name: value("name"), contact: value("contact"), message: value("message")});
        const done = say(h("p", {class: "done", tabindex: "-1"}), null, null, () => t("received", {ref: data.reference}));
        dismiss(false);
        log.append(done);  // the conversation goes on below it
        done.focus();
        scrollTo(done);
      } catch (error) {
        say(local, null, null, () => problem(error));
        local.className = "err";
      } finally {
        sending = false;
      }
    });
    scroller.append(handoffForm);
    scrollTo(handoffForm);
    fields.name.control.focus();
  }

  relabel();
  const mount = () => document.body.append(host);
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
