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
    const button = document.createElement("button");
    button.type = "button";
    button.className = "kern-btn kern-btn--tertiary kern-btn--x-small copy";
    button.dataset.text = text;
    const label = document.createElement("span");
    label.className = "kern-label";
    label.textContent = list.dataset.copy;
    button.append(label);
    return button;
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
    if (report.findings.length) {
      const details = document.createElement("ul");
      details.className = "kern-list kern-body--small";
      report.findings.forEach(function (finding) {
        const line = document.createElement("li");
        line.textContent = finding.rule + ": " + finding.detail + " – „" + finding.sentence + "“";
        details.append(line);
      });
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
      link.textContent = source.document_title + " – " + source.heading + (source.page ? " (S. " + source.page + ")" : "");
      line.append(link);
      list.append(line);
    });
    box.append(title, list);
    item.append(box);
  };

  // Send `body` to `url` and show the answer streaming into a new bubble of `list`.
  // Returns the answer text; throws with the server's message on failure (shown in the bubble).
  R.ask = async function (options) {
    const list = options.list, status = options.status;
    R.bubble(list, "user", options.message);
    const answer = R.bubble(list, "assistant", "");
    answer.setAttribute("aria-busy", "true");
    status.textContent = status.dataset.writing;
    let text = "";
    try {
      const response = await fetch(options.url, {
        method: "POST",
        headers: {"Content-Type": "application/json", "X-Rathaus-CSRF": "1"},
        body: JSON.stringify(options.body),
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
          if (kind === "meta" && options.onMeta) {
            options.onMeta(data);
          } else if (kind === "delta") {
            text += data.text;
            answer.textContent = text;
          } else if (kind === "sources") {
            R.showSources(answer.parentElement, data);
          } else if (kind === "route") {
            answer.parentElement.insertAdjacentHTML("beforeend", data.html);  // rendered by the server
          } else if (kind === "check") {
            R.showCheck(answer.parentElement, data);
          } else if (kind === "done") {
            answer.innerHTML = data.html;  // rendered and sanitised by the server
            answer.classList.add("chat-message__text--rendered");
            answer.parentElement.append(R.copyButton(list, status, text));
          } else if (kind === "error") {
            throw new Error(data.message);
          }
        }
      }
      status.textContent = status.dataset.done;
      return text;
    } catch (error) {
      answer.textContent = status.dataset.error.replace("{message}", error.message);
      answer.parentElement.classList.add("chat-message--error");
      status.textContent = answer.textContent;
      throw error;
    } finally {
      answer.removeAttribute("aria-busy");
    }
  };
})(window.Rathaus);
