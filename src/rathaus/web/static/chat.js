// Chat: send a message and show the answer as it streams in (server-sent events over fetch).
(function () {
  "use strict";
  const form = document.getElementById("chat-form");
  const list = document.getElementById("messages");
  const status = document.getElementById("chat-status");
  const input = document.getElementById("message");
  if (!form || !list || !input) return;

  function bubble(role, text) {
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
  }

  function showCheck(item, report) {
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
  }

  document.querySelectorAll(".starter").forEach(function (button) {
    button.addEventListener("click", function () { input.value = button.dataset.text; input.focus(); });
  });

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    const message = input.value.trim();
    if (!message) { input.focus(); return; }
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    bubble("user", message);
    input.value = "";
    const answer = bubble("assistant", "");
    answer.setAttribute("aria-busy", "true");
    status.textContent = status.dataset.writing;
    try {
      const response = await fetch(form.dataset.send, {
        method: "POST",
        headers: {"Content-Type": "application/json", "X-Rathaus-CSRF": "1"},
        body: JSON.stringify({message: message, conversation_id: form.dataset.conversation || null}),
      });
      if (!response.ok) {
        const problem = await response.json().catch(function () { return {}; });
        throw new Error(problem.detail || response.statusText);
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
            form.dataset.conversation = data.conversation_id;
            history.replaceState(null, "", "?c=" + encodeURIComponent(data.conversation_id));
          } else if (kind === "delta") {
            answer.textContent += data.text;
          } else if (kind === "check") {
            showCheck(answer.parentElement, data);
          } else if (kind === "error") {
            throw new Error(data.message);
          }
        }
      }
      status.textContent = status.dataset.done;
    } catch (error) {
      answer.textContent = status.dataset.error.replace("{message}", error.message);
      answer.parentElement.classList.add("chat-message--error");
      status.textContent = answer.textContent;
    } finally {
      answer.removeAttribute("aria-busy");
      button.disabled = false;
      input.focus();
    }
  });
})();
