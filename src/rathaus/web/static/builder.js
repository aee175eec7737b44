// The builder: form and YAML tab on the same document, and a test chat with the unsaved state.
// The server converts between form and YAML and checks the document; this script only moves data.
(function () {
  "use strict";
  const R = window.Rathaus;
  const form = document.getElementById("builder-form");
  if (!form || !R) return;
  const tabs = document.querySelector(".builder-tabs");
  const tabForm = document.getElementById("tab-form");
  const tabYaml = document.getElementById("tab-yaml");
  const panelForm = document.getElementById("panel-form");
  const panelYaml = document.getElementById("panel-yaml");
  const yaml = document.getElementById("yaml");
  const lines = document.querySelector(".yaml-lines");
  const problemsBox = document.getElementById("yaml-problems");
  const headers = {"Content-Type": "application/json", "X-Rathaus-CSRF": "1"};

  function fields() {
    const values = {};
    new FormData(form).forEach(function (value, key) {
      if (key === "csrf") return;
      // several ticked collections travel as one value, a name per line (as the server reads the form)
      values[key] = key in values ? values[key] + "\n" + value : value;
    });
    return values;
  }

  // ---- knowledge picker: tick the collections the YAML names; a name without a box gets one, so that
  // saving reports it instead of dropping it
  const picker = document.querySelector("[data-field=knowledge]");
  function tickKnowledge(text) {
    if (!picker) return;
    const names = text.split("\n").filter(Boolean);
    picker.querySelectorAll("input[type=checkbox]").forEach(function (box) {
      box.checked = names.includes(box.value);
    });
    names.forEach(function (name) {
      if (picker.querySelector('input[type=checkbox][value="' + CSS.escape(name) + '"]')) return;
      const id = "k-" + name.replace(/[^a-zA-Z0-9_-]/g, "_");
      const item = document.createElement("div");
      item.className = "kern-form-check knowledge-choice";
      const box = document.createElement("input");
      Object.assign(box, {className: "kern-form-check__checkbox", type: "checkbox", id: id, name: "knowledge", value: name, checked: true});
      box.setAttribute("aria-describedby", id + "-hint");
      const label = document.createElement("label");
      Object.assign(label, {className: "kern-label", htmlFor: id, textContent: name});
      const hint = document.createElement("div");
      Object.assign(hint, {className: "kern-hint knowledge-choice__hint knowledge-choice__hint--warning", id: id + "-hint", textContent: picker.dataset.unknown});
      item.append(box, label, hint);
      picker.querySelector(".knowledge-none")?.remove();
      picker.append(item);
    });
  }

  async function post(url, body) {
    const response = await fetch(url, {method: "POST", headers: headers, body: JSON.stringify(body)});
    const data = await response.json().catch(function () { return {}; });
    if (!response.ok) throw new Error(data.detail || response.statusText);
    return data;
  }

  // ---- model choice: show only the field the chosen mode needs
  const mode = document.getElementById("f-model_mode");
  function showModelFields() {
    const tier = document.querySelector("[data-field=model_tier]");
    const profile = document.querySelector("[data-field=model_profile]");
    if (tier) tier.hidden = mode.value !== "tier";
    if (profile) profile.hidden = mode.value !== "profile";
    const schema = document.querySelector("[data-field=output_schema]");
    const format = document.getElementById("f-output_format");
    if (schema && format) schema.hidden = format.value !== "json";
  }
  if (mode) {
    mode.addEventListener("change", showModelFields);
    document.getElementById("f-output_format").addEventListener("change", showModelFields);
    showModelFields();
  }

  // ---- YAML editor: line numbers, errors marked at their line
  function drawLines(marked) {
    const count = yaml.value.split("\n").length;
    lines.replaceChildren();
    for (let n = 1; n <= count; n++) {
      const item = document.createElement("li");
      item.textContent = n;
      if (marked.has(n)) item.className = "yaml-lines__error";
      lines.append(item);
    }
    lines.scrollTop = yaml.scrollTop;
  }
  let markedLines = new Set();
  yaml.addEventListener("input", function () { drawLines(markedLines); });
  yaml.addEventListener("scroll", function () { lines.scrollTop = yaml.scrollTop; });

  function goToLine(line, column) {
    const rows = yaml.value.split("\n");
    let offset = 0;
    for (let i = 0; i < line - 1 && i < rows.length; i++) offset += rows[i].length + 1;
    offset += Math.max(0, (column || 1) - 1);
    yaml.focus();
    yaml.setSelectionRange(offset, offset);
    const height = yaml.scrollHeight / Math.max(rows.length, 1);
    yaml.scrollTop = Math.max(0, (line - 3) * height);
  }

  function showProblems(problems) {
    problemsBox.replaceChildren();
    markedLines = new Set(problems.filter(function (p) { return p.line; }).map(function (p) { return p.line; }));
    drawLines(markedLines);
    if (!problems.length) {
      const ok = document.createElement("p");
      ok.className = "kern-body yaml-problems__ok";
      ok.textContent = problemsBox.dataset.ok;
      problemsBox.append(ok);
      return;
    }
    const title = document.createElement("p");
    title.className = "kern-label";
    title.textContent = problemsBox.dataset.title;
    const list = document.createElement("ul");
    list.className = "kern-list";
    problems.forEach(function (p) {
      const item = document.createElement("li");
      item.className = "yaml-problem";
      const text = (p.path ? p.path + ": " : "") + (p.text || p.message);
      if (p.line) {
        const button = document.createElement("button");
        button.type = "button";
        button.className = "kern-btn kern-btn--tertiary kern-btn--x-small yaml-problem__line";
        const label = document.createElement("span");
        label.className = "kern-label";
        label.textContent = problemsBox.dataset.line.replace("{line}", p.line);
        button.append(label);
        button.addEventListener("click", function () { goToLine(p.line, p.column); });
        item.append(button, " ");
      }
      item.append(text);
      list.append(item);
    });
    problemsBox.append(title, list);
  }

  // YAML → form: the server parses and checks; a document it can read fills the form.
  async function applyYaml() {
    const result = await post("/builder/check", {yaml: yaml.value});
    showProblems(result.problems);
    if (!result.form) return false;
    Object.entries(result.form).forEach(function ([name, value]) {
      if (name === "knowledge") { tickKnowledge(value); return; }
      const field = form.elements.namedItem(name);
      if (field && !field.readOnly) field.value = value;
    });
    form.elements.namedItem("document").value = result.document;
    if (mode) showModelFields();
    return true;
  }

  // ---- tabs (WAI-ARIA pattern: arrow keys move between tabs)
  async function select(tab) {
    const toYaml = tab === tabYaml;
    if (toYaml === !panelYaml.hidden) return;
    if (toYaml) {
      const result = await post("/builder/yaml", {form: fields()});
      yaml.value = result.yaml;
      showProblems([]);
      problemsBox.replaceChildren();
    } else if (!(await applyYaml())) {
      return;  // the YAML cannot be read: stay and show where
    }
    panelYaml.hidden = !toYaml;
    panelForm.hidden = toYaml;
    [tabForm, tabYaml].forEach(function (t) {
      t.setAttribute("aria-selected", String(t === tab));
      t.tabIndex = t === tab ? 0 : -1;
    });
    tab.focus();
  }
  tabs.hidden = false;
  [tabForm, tabYaml].forEach(function (tab) {
    tab.addEventListener("click", function () { select(tab); });
    tab.addEventListener("keydown", function (event) {
      if (["ArrowLeft", "ArrowRight", "Home", "End"].includes(event.key)) {
        event.preventDefault();
        select(tab === tabForm ? tabYaml : tabForm);
      }
    });
  });
  document.getElementById("yaml-check").addEventListener("click", function () { applyYaml(); });

  // Saving from the YAML tab takes the YAML over first (the server checks everything again).
  form.addEventListener("submit", async function (event) {
    if (panelYaml.hidden || form.dataset.applied === "1") return;
    event.preventDefault();
    if (await applyYaml()) {
      form.dataset.applied = "1";
      form.requestSubmit();
    }
  });

  // ---- test chat with the unsaved document
  const preview = document.getElementById("preview");
  const previewForm = document.getElementById("preview-form");
  const previewInput = document.getElementById("preview-input");
  const previewList = document.getElementById("preview-messages");
  const previewStatus = document.getElementById("preview-status");
  let conversation = [];
  preview.hidden = false;
  R.wireCopy(previewList, previewStatus, previewList);
  document.getElementById("preview-reset").addEventListener("click", function () {
    conversation = [];
    previewList.replaceChildren();
    previewInput.focus();
  });
  previewForm.addEventListener("submit", async function (event) {
    event.preventDefault();
    const message = previewInput.value.trim();
    if (!message) { previewInput.focus(); return; }
    if (!panelYaml.hidden && !(await applyYaml())) return;
    const button = previewForm.querySelector("button[type=submit]");
    button.disabled = true;
    previewInput.value = "";
    const messages = conversation.concat([{role: "user", content: message}]);
    try {
      const answer = await R.ask({
        url: "/builder/preview", body: {form: fields(), messages: messages}, message: message,
        list: previewList, status: previewStatus,
      });
      conversation = messages.concat([{role: "assistant", content: answer}]);
    } catch (error) {
      // shown in the bubble
    } finally {
      button.disabled = false;
      previewInput.focus();
    }
  });
})();
