// Every page: the menu button on small screens, copy buttons (data-copy="ID of the field"), and
// charts that open at their latest days when they scroll sideways.
// Without JavaScript the menu stays open and the fields can be copied by hand.
(function () {
  "use strict";

  function setUpMenu() {
    var button = document.querySelector(".nav-toggle");
    var menu = document.getElementById("site-menu");
    // a page without the main navigation (login, invitation link) has only the language link: no menu
    if (!button || !menu || menu.querySelectorAll(".nav-group").length < 2) { return; }
    document.documentElement.classList.add("has-menu-button");
    button.hidden = false;
    button.addEventListener("click", function () {
      var open = button.getAttribute("aria-expanded") !== "true";
      button.setAttribute("aria-expanded", open ? "true" : "false");
      menu.classList.toggle("site-menu--open", open);
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && button.getAttribute("aria-expanded") === "true") {
        button.setAttribute("aria-expanded", "false");
        menu.classList.remove("site-menu--open");
        button.focus();
      }
    });
  }

  function setUpCopy() {
    document.querySelectorAll("[data-copy]").forEach(function (button) {
      var field = document.getElementById(button.getAttribute("data-copy"));
      var status = button.parentElement.querySelector(".copy-status");
      if (!field || !navigator.clipboard) { return; }
      button.hidden = false;
      button.addEventListener("click", function () {
        navigator.clipboard.writeText(field.value).then(function () {
          if (status) { status.textContent = status.getAttribute("data-copied"); }
        }, function () {
          field.select();
        });
      });
    });
  }

  // charts wider than a phone scroll inside their region; show the latest days first
  function showLatestDays() {
    document.querySelectorAll(".chart-scroll").forEach(function (region) {
      region.scrollLeft = region.scrollWidth;
    });
  }

  function start() { setUpMenu(); setUpCopy(); showLatestDays(); }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
