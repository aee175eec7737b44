// Drag a step onto another step of the same list to move it there; the server applies the move to the
// document (the ↑ ↓ buttons do the same by keyboard). Without this script the buttons still work.
(function () {
  const form = document.getElementById("workflow-editor");
  if (!form) return;
  let dragged = null;
  form.querySelectorAll(".workflow-editor__step").forEach((item) => {
    item.addEventListener("dragstart", (event) => {
      dragged = item;
      event.dataTransfer.effectAllowed = "move";
      event.stopPropagation();
    });
    item.addEventListener("dragover", (event) => {
      if (dragged && dragged !== item && dragged.parentElement === item.parentElement) event.preventDefault();
    });
    item.addEventListener("drop", (event) => {
      event.preventDefault();
      event.stopPropagation();
      if (!dragged || dragged === item || dragged.parentElement !== item.parentElement) return;
      const op = document.createElement("input");
      op.type = "hidden";
      op.name = "op";
      op.value = "move:" + dragged.dataset.step + ":" + item.dataset.index;
      form.appendChild(op);
      form.submit();
    });
  });
})();

// "Einfügen" puts the chosen value at the cursor of its setting instead of sending the form (without this
// script the server adds it at the end).
(function () {
  document.querySelectorAll("button[data-insert]").forEach((button) => {
    const menu = document.getElementById(button.dataset.insert);
    const field = menu && document.getElementById(menu.dataset.target);
    if (!field) return;
    button.addEventListener("click", (event) => {
      event.preventDefault();
      const token = menu.value;
      const start = field.selectionStart ?? field.value.length;
      const end = field.selectionEnd ?? field.value.length;
      const before = field.value.slice(0, start);
      const space = before && !/\s$/.test(before) ? (menu.dataset.lines ? "\n" : " ") : "";
      field.value = before + space + token + field.value.slice(end);
      const cursor = (before + space + token).length;
      field.focus();
      field.setSelectionRange(cursor, cursor);
    });
  });
})();
