// A queued call: 202 + Location, then GET /api/v1/jobs/{id} until it succeeds or fails.
// Polls quickly at first, then every 2 s; shows where the job is and for how long.
import { h, clear } from "./dom.js";
import { ApiError } from "./api.js";
import { errorPanel } from "./errors.js";

const STEPS = ["queued", "running", "succeeded"];
const MAX_WAIT_MS = 10 * 60 * 1000;

export async function pollJob(result, ctx, path, accepted) {
  const started = performance.now();
  const bar = h("progress", { max: 100, "aria-label": "Job progress" });
  const steps = h("ol", { class: "steps" }, STEPS.map((s) => h("li", { dataset: { step: s } }, s)));
  const status = h("p", { class: "job-status", role: "status" });
  const card = h("section", { class: "card job", dataset: { job: accepted.job_id, status: "queued" } },
    h("h3", {}, "Job ", h("code", {}, accepted.job_id)), bar, steps, status);
  clear(result, card);
  const show = (job) => {
    card.dataset.status = job.status;
    const at = STEPS.indexOf(job.status);
    for (const li of steps.children) {
      const i = STEPS.indexOf(li.dataset.step);
      li.className = i < at || job.status === "succeeded" ? "done" : i === at ? "current" : "";
    }
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    status.textContent = `${job.status} · ${seconds} s`;
    if (job.status === "succeeded") bar.value = 100;
    else if (job.status === "running") bar.value = 60;
    else bar.value = 20;
  };
  show(accepted);
  let delay = 250;
  while (performance.now() - started < MAX_WAIT_MS) {
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 1.5, 2000);
    let job;
    try {
      job = (await ctx.api.json(path)).body;
    } catch (error) {
      clear(result, errorPanel(error, ctx));
      return null;
    }
    show(job);
    if (job.status === "succeeded") {
      await new Promise((resolve) => setTimeout(resolve, 300)); // let the finished bar be seen
      return job.result;
    }
    if (job.status === "failed") {
      card.append(errorPanel(new ApiError(job.error?.status || 500, { error: job.error }), ctx));
      return null;
    }
  }
  status.textContent = "Still not done after 10 minutes; it keeps running: check back later.";
  return null;
}
