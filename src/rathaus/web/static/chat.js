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
