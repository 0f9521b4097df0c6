// The use cases this caller may run (GET /api/v1/usecases), a form per input schema, and three
// ways to run one: directly, streamed (SSE), or as a job (Prefer: respond-async, then polling).
import { h, clear } from "../dom.js";
import { ApiError, apiPath } from "../api.js";
import { errorPanel } from "../errors.js";
import { schemaForm } from "../schema_form.js";
import { readEvents } from "../sse.js";
import { outputField, outputView, answerFacts } from "../answer.js";
import { pollJob } from "../jobs.js";

export async function renderUseCases(root, ctx, selected) {
  clear(root, h("p", { class: "muted" }, "Loading use cases…"));
  let list;
  try {
    list = (await ctx.api.json("/v1/usecases")).body.use_cases;
  } catch (error) {
    clear(root, h("h1", {}, "Use cases"), errorPanel(error, ctx));
    return;
  }
  const runnable = list.filter((u) => u.kind !== "chat");
  const current = runnable.find((u) => u.id === selected) || runnable[0];
  const nav = h("nav", { class: "usecase-list", "aria-label": "Use cases" },
    h("ul", {}, list.map((u) => h("li", {},
      h("a", {
        href: u.kind === "chat" ? "#/chat" : `#/usecases/${encodeURIComponent(u.id)}`,
        "aria-current": current && u.id === current.id ? "page" : null,
        dataset: { usecase: u.id },
      },
      h("span", { class: "uc-name" }, u.id),
      h("span", { class: "badge" }, u.kind === "chat" ? "chat" : u.kind),
      u.async_allowed ? h("span", { class: "badge soft" }, "async") : null,
      h("span", { class: "uc-desc" }, u.description))))));
  const panel = h("section", { class: "usecase-panel", "aria-live": "off" });
  clear(root, h("h1", { class: "visually-hidden" }, "Use cases"), h("div", { class: "split" }, nav, panel));
  if (current) renderForm(panel, ctx, current);
  else clear(panel, h("p", {}, "Your business unit has no use cases to run."));
}

function renderForm(panel, ctx, usecase) {
  const form = schemaForm(usecase.input_schema, { idPrefix: usecase.id });
  const result = h("div", { class: "result", "aria-live": "polite" });
  const buttons = [
    h("button", { type: "submit", name: "mode", value: "run" }, "Run"),
    usecase.kind === "text" ? h("button", { type: "submit", name: "mode", value: "stream", class: "secondary" }, "Stream") : null,
    usecase.async_allowed ? h("button", { type: "submit", name: "mode", value: "job", class: "secondary" }, "Run as job") : null,
  ];
  const el = h("form", { class: "card", novalidate: false, dataset: { usecase: usecase.id } },
    h("h2", {}, usecase.id, h("span", { class: "version" }, ` v${usecase.version}`)),
    h("p", { class: "muted" }, usecase.description),
    h("p", { class: "limits" }, `Up to ${usecase.max_input_tokens.toLocaleString("en-US")} input tokens, ${usecase.max_output_tokens.toLocaleString("en-US")} output tokens.`),
    form.element,
    h("div", { class: "actions" }, buttons));
  el.addEventListener("submit", async (event) => {
    event.preventDefault();
    const mode = event.submitter?.value || "run";
    const body = form.values();
    for (const b of el.querySelectorAll("button")) b.disabled = true;
    try {
      if (mode === "stream") await stream(result, ctx, usecase, body);
      else await run(result, ctx, usecase, body, mode === "job");
    } finally {
      for (const b of el.querySelectorAll("button")) b.disabled = false;
    }
  });
  clear(panel, el, result);
}

async function run(result, ctx, usecase, body, asJob) {
  clear(result, h("p", { class: "muted", role: "status" }, asJob ? "Queuing…" : "Running…"));
  try {
    const headers = asJob ? { Prefer: "respond-async" } : {};
    const answer = await ctx.api.json(`/v1/${encodeURIComponent(usecase.id)}`, { method: "POST", body, headers });
    if (answer.status === 202) {
      const location = answer.headers.get("location") || answer.body.location;
      const done = await pollJob(result, ctx, apiPath(ctx.api.config, location), answer.body);
      if (done) showAnswer(result, usecase, done, "Job result");
      return;
    }
    showAnswer(result, usecase, answer.body, "Answer");
  } catch (error) {
    clear(result, errorPanel(error, { ...ctx, onRetry: () => run(result, ctx, usecase, body, asJob) }));
  }
  result.scrollIntoView({ block: "nearest" });
}

function showAnswer(result, usecase, body, heading) {
  const field = outputField(usecase, body);
  clear(result, h("section", { class: "card answer", dataset: { state: "done" } },
    h("h3", {}, heading),
    outputView(usecase, body[field]),
    answerFacts(body)));
  result.scrollIntoView({ block: "nearest" });
}

async function stream(result, ctx, usecase, body) {
  const text = h("p", { class: "text-answer streaming", "aria-busy": "true" });
  const facts = h("div");
  const card = h("section", { class: "card answer", dataset: { state: "streaming" } }, h("h3", {}, "Answer (streaming)"), text, facts);
  clear(result, card);
  try {
    const response = await ctx.api.call(`/v1/${encodeURIComponent(usecase.id)}`, {
      method: "POST", body: { ...body, stream: true }, headers: { Accept: "text/event-stream" },
    });
    for await (const { event, data } of readEvents(response)) {
      if (event === "delta") text.append(data.text);
      else if (event === "done") {
        card.dataset.state = "done";
        card.querySelector("h3").textContent = "Answer";
        clear(facts, answerFacts(data));
      } else if (event === "error") {
        card.dataset.state = "error";
        clear(facts, errorPanel(new ApiError(200, data), ctx));
      }
    }
  } catch (error) {
    clear(result, errorPanel(error, ctx));
  } finally {
    text.setAttribute("aria-busy", "false");
    text.classList.remove("streaming");
  }
}
