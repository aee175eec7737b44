// Chat: send a message and show the answer as it streams in. Uses conversation.js.
(function () {
  "use strict";
  const R = window.Rathaus;
  const form = document.getElementById("chat-form");
  const list = document.getElementById("messages");
  const status = document.getElementById("chat-status");
  const input = document.getElementById("message");
  if (!form || !list || !input || !R) return;
  const stored = form.dataset.store !== "0";  // "0": the tenant keeps conversations in the browser only
  const past = [];  // the conversation when it is not stored on the server

  R.wireCopy(list, status, list);

  // An answer's "In Leichte Sprache" button (answers written here and answers shown from before).
  function simplifyButton(actions, text) {
    const simplify = R.button(list.dataset.simplify, "kern-btn--tertiary simplify");
    simplify.dataset.text = text;
    actions.append(simplify);
  }

  // Put a text into Leichte Sprache: the answer appears below, checked against the rules; not kept.
  async function simplify(text, shown) {
    try {
      await R.ask({
        url: form.dataset.simplify, body: {text: text}, message: shown, list: list, status: status,
        waiting: list.dataset.simplifyWaiting,
        onRetry: function () { simplify(text, shown); },
      });
    } catch (error) {
      // shown in the answer's bubble and announced by R.ask
    }
  }

  list.addEventListener("click", function (event) {
    const button = event.target.closest(".simplify");
    if (button) simplify(button.dataset.text, list.dataset.simplifyAsked);
  });
  const simplifyText = document.getElementById("simplify-text");
  if (simplifyText) {
    simplifyText.addEventListener("click", function () {
      const text = input.value.trim();
      if (!text) { input.focus(); return; }
      input.value = "";
      simplify(text, text);
    });
  }
  document.querySelectorAll(".starter").forEach(function (button) {
    button.addEventListener("click", function () { input.value = button.dataset.text; input.focus(); });
  });

  // Ask one question; a failed or stopped answer offers to ask it again.
  async function send(message) {
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    const body = {message: message, conversation_id: form.dataset.conversation || null};
    if (!stored) body.history = past.slice(-40);
    try {
      const answer = await R.ask({
        url: form.dataset.send, body: body, message: message, list: list, status: status,
        onMeta: function (data) {
          if (!data.conversation_id) return;
          form.dataset.conversation = data.conversation_id;
          window.history.replaceState(null, "", "?c=" + encodeURIComponent(data.conversation_id));
        },
        onRetry: send,
        onDone: simplifyButton,
      });
      if (!stored) past.push({role: "user", content: message}, {role: "assistant", content: answer});
    } catch (error) {
      // shown in the answer's bubble and announced by R.ask
    } finally {
      button.disabled = false;
      input.focus();
    }
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    const message = input.value.trim();
    if (!message) { input.focus(); return; }
    input.value = "";
    send(message);
  });
})();
