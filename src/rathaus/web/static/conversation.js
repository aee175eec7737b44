// Shared by the chat and the builder's test chat: message bubbles, copy buttons and streamed answers.
window.Rathaus = window.Rathaus || {};
(function (R) {
  "use strict";

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
    const area = document.createElement("textarea");  // plain-HTTP intranets have no clipboard API
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "absolute";
    area.style.left = "-10000px";
    document.body.append(area);
    area.select();
    const ok = document.execCommand("copy");
    area.remove();
    return ok ? Promise.resolve() : Promise.reject(new Error("copy"));
  }

  // A copy button for a message; `status` announces the result to screen readers.
  R.copyButton = function (list, status, text) {
    const copy = button(list.dataset.copy, "kern-btn--tertiary copy");
    copy.dataset.text = text;
    return copy;
  };

  R.wireCopy = function (root, status, list) {
    root.addEventListener("click", function (event) {
      const button = event.target.closest(".copy");
      if (!button) return;
      copyText(button.dataset.text).then(function () { status.textContent = list.dataset.copied; });
    });
  };

  R.bubble = function (list, role, text) {
    const item = document.createElement("li");
    item.className = "chat-message chat-message--" + role;
    const author = document.createElement("span");
    author.className = "chat-message__author kern-label";
    author.textContent = role === "user" ? list.dataset.you : list.dataset.assistant;
    const body = document.createElement("div");
    body.className = "chat-message__text";
    body.textContent = text;
    item.append(author, body);
    list.append(item);
    return body;
  };

  R.showCheck = function (item, report) {
    const box = document.createElement("div");
    box.className = "chat-check";
    const title = document.createElement("p");
    title.className = "kern-label";
    title.textContent = report.title;
    const rules = document.createElement("ul");
    rules.className = "kern-list";
    report.rules.forEach(function (rule) {
      const line = document.createElement("li");
      line.textContent = (rule.passed ? "✓ " : "✗ ") + rule.label;
      rules.append(line);
    });
    box.append(title, rules);
    if (report.findings.length) {  // folded: the rules above say enough at a glance
      const details = document.createElement("details");
      const summary = document.createElement("summary");
      summary.className = "kern-body--small";
      summary.textContent = report.findings_title;
      const lines = document.createElement("ul");
      lines.className = "kern-list kern-body--small";
      report.findings.forEach(function (finding) {
        const line = document.createElement("li");
        line.textContent = finding.rule + ": " + finding.detail + " – „" + finding.sentence + "“";
        lines.append(line);
      });
      details.append(summary, lines);
      box.append(details);
    }
    item.append(box);
  };

  R.showSources = function (item, data) {
    const box = document.createElement("div");
    box.className = "chat-sources";
    const title = document.createElement("p");
    title.className = "kern-label";
    title.textContent = data.title;
    const list = document.createElement("ol");
    list.className = "kern-list";
    data.sources.forEach(function (source) {
      const line = document.createElement("li");
      line.value = source.number;
      const link = document.createElement("a");
      link.className = "kern-link";
      link.href = source.url;
      link.textContent = (source.label || source.document_title) + (source.page ? " (S. " + source.page + ")" : "");
      line.append(link);
      list.append(line);
    });
    box.append(title, list);
    item.append(box);
  };

  // The evidence an answer is written from, shown before the answer: quoted sentences with their
  // sources, open while the answer is written, folded away once it is complete.
  R.showEvidence = function (item, data) {
    const box = document.createElement("details");
    box.className = "chat-evidence";
    box.open = true;
    const title = document.createElement("summary");
    title.className = "kern-label";
    title.textContent = data.title;
    const quotes = document.createElement("ul");
    quotes.className = "kern-list";
    data.quotes.forEach(function (quote) {
      const line = document.createElement("li");
      const source = data.sources.find(function (s) { return s.number === quote.number; });
      line.append("„" + quote.text + "“ ");
      const link = document.createElement("a");
      link.className = "kern-link citation";
      link.href = source ? source.url : "#";
      link.textContent = "[" + quote.number + "]";
      if (source) link.title = source.label || source.document_title;
      line.append(link);
      quotes.append(line);
    });
    box.append(title, quotes);
    item.insertBefore(box, item.querySelector(".chat-message__text"));
    R.showSources(item, {title: data.sources_title, sources: data.sources});
    item.lastElementChild.classList.add("chat-sources--evidence");
    return box;
  };

  // A line in the bubble saying what is happening (searching, writing); removed when the answer is done.
  function progress(item, text) {
    let line = item.querySelector(".chat-progress");
    if (!line) {
      line = document.createElement("p");
      line.className = "chat-progress kern-body--small";
      item.append(line);
    }
    line.textContent = text;
  }

  // A small button with a label; `className` adds its variant and purpose.
  R.button = button;
  function button(label, className) {
    const element = document.createElement("button");
    element.type = "button";
    element.className = "kern-btn kern-btn--x-small " + className;
    const span = document.createElement("span");
    span.className = "kern-label";
    span.textContent = label;
    element.append(span);
    return element;
  }

  // Send `body` to `url` and show the answer streaming into a new bubble of `list`: what is happening,
  // the evidence first, then the answer; a stop button while it is written, "ask again" after a failure.
  // Returns the answer text; throws with the server's message on failure (shown in the bubble).
  R.ask = async function (options) {
    const list = options.list, status = options.status;
    R.bubble(list, "user", options.message);
    const answer = R.bubble(list, "assistant", "");
    const item = answer.parentElement;
    answer.setAttribute("aria-busy", "true");
    const waiting = options.waiting || list.dataset.searching;
    status.textContent = waiting;
    progress(item, waiting);
    const controller = new AbortController();
    const stop = button(list.dataset.stop, "kern-btn--secondary chat-stop");
    stop.addEventListener("click", function () { controller.abort(); });
    item.append(stop);
    let text = "";
    let evidence = null;
    try {
      const response = await fetch(options.url, {
        method: "POST",
        headers: {"Content-Type": "application/json", "X-Rathaus-CSRF": "1"},
        body: JSON.stringify(options.body),
        signal: controller.signal,
      });
      if (!response.ok) {
        const problem = await response.json().catch(function () { return {}; });
        const details = (problem.problems || []).map(function (p) { return p.path + ": " + (p.text || p.message); });
        throw new Error([problem.detail || response.statusText].concat(details).join(" "));
      }
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const chunk = await reader.read();
        if (chunk.done) break;
        buffer += decoder.decode(chunk.value, {stream: true});
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const kind = (block.match(/^event: (.*)$/m) || [])[1];
          const data = JSON.parse((block.match(/^data: (.*)$/m) || [])[1] || "{}");
          if (kind === "meta") {
            if (options.onMeta) options.onMeta(data);
            if (!options.waiting) progress(item, status.dataset.writing);
          } else if (kind === "evidence") {
            evidence = R.showEvidence(item, data);
            progress(item, data.note);
            status.textContent = data.title + ". " + data.note;
          } else if (kind === "delta") {
            text += data.text;
            answer.textContent = text;
          } else if (kind === "sources") {
            const early = item.querySelector(".chat-sources--evidence");
            if (early) early.remove();
            R.showSources(item, data);
          } else if (kind === "route") {
            answer.parentElement.insertAdjacentHTML("beforeend", data.html);  // rendered by the server
          } else if (kind === "check") {
            R.showCheck(answer.parentElement, data);
          } else if (kind === "done") {
            answer.innerHTML = data.html;  // rendered and sanitised by the server
            if (typeof data.text === "string") text = data.text;  // the answer as finished by the server
            answer.classList.add("chat-message__text--rendered");
            if (evidence) evidence.open = false;
            const actions = document.createElement("div");
            actions.className = "chat-actions";
            actions.append(R.copyButton(list, status, text));
            if (options.onDone) options.onDone(actions, text);
            item.append(actions);
          } else if (kind === "error") {
            throw new Error(data.message);
          }
        }
      }
      status.textContent = status.dataset.done;
      return text;
    } catch (error) {
      if (error.name === "AbortError") {  // stopped by the asker: keep what was written so far
        if (!text) answer.textContent = list.dataset.stopped;
        status.textContent = list.dataset.stopped;
      } else {
        answer.textContent = status.dataset.error.replace("{message}", error.message);
        item.classList.add("chat-message--error");
        status.textContent = answer.textContent;
      }
      if (options.onRetry) {
        const again = button(list.dataset.retry, "kern-btn--secondary chat-retry");
        again.addEventListener("click", function () { again.remove(); options.onRetry(options.message); });
        item.append(again);
      }
      if (error.name === "AbortError") return text;
      throw error;
    } finally {
      answer.removeAttribute("aria-busy");
      stop.remove();
      const line = item.querySelector(".chat-progress");
      if (line) line.remove();
    }
  };
})(window.Rathaus);
