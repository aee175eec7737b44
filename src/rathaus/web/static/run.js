// While a run is under way its page looks every two seconds whether a step has finished or the run's status
// has changed, and then reloads; the status line is a live region, so the new state is announced.
(function () {
  const status = document.getElementById("run-status");
  if (!status || !["queued", "running"].includes(status.dataset.status)) return;
  const check = async () => {
    try {
      const response = await fetch("/api/runs/" + status.dataset.run, { headers: { Accept: "application/json" } });
      if (response.ok) {
        const run = await response.json();
        const done = run.steps.filter((s) => s.status === "succeeded" || s.status === "skipped").length;
        if (run.status !== status.dataset.status || String(done) !== status.dataset.done) {
          window.location.reload();
          return;
        }
      }
    } catch (error) {
      // the server is away for a moment: look again later
    }
    window.setTimeout(check, 2000);
  };
  window.setTimeout(check, 1000);
})();
