// Finance's chargeback report: the gateway's own page (GET /api/v1/reports/chargeback.html),
// fetched with this browser's sign-in and shown in a sandboxed frame, plus its CSV export.
// The finance role sees every unit; anyone else sees their own unit only (the gateway decides).
import { h, clear } from "../dom.js";
import { errorPanel } from "../errors.js";

let shown = null; // the blob: URL of the page on screen, released when replaced

function monthToDate(now = new Date()) {
  const iso = (d) => d.toISOString().slice(0, 10);
  const first = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
  return { from: iso(first), to: iso(now) };
}

export function renderReports(root, ctx) {
  const period = monthToDate();
  const from = h("input", { id: "report-from", type: "date", name: "from", value: period.from, required: true });
  const to = h("input", { id: "report-to", type: "date", name: "to", value: period.to, required: true });
  const group = h("select", { id: "report-group", name: "group_by" },
    ["business_unit,use_case,model", "business_unit", "business_unit,day", "use_case,model"].map((v) =>
      h("option", { value: v }, v.replace(/,/g, ", ").replace(/_/g, " "))));
  const frame = h("div", { class: "report-frame" });
  const status = h("p", { class: "muted", role: "status" });
  const query = () => new URLSearchParams({ from: from.value, to: to.value, group_by: group.value });
  const show = async () => {
    status.textContent = "Loading the report…";
    try {
      const response = await ctx.api.call(`/v1/reports/chargeback.html?${query()}`, { headers: { Accept: "text/html" } });
      const html = await response.blob();
      if (shown) URL.revokeObjectURL(shown);
      shown = URL.createObjectURL(new Blob([html], { type: "text/html" }));
      // No script runs in the frame (no allow-scripts); same-origin only so its height can be read.
      const iframe = h("iframe", { title: "Chargeback report", src: shown, sandbox: "allow-same-origin" });
      iframe.addEventListener("load", () => {
        const page = iframe.contentDocument?.documentElement;
        if (page) iframe.style.height = `${page.scrollHeight + 8}px`;
      });
      clear(frame, iframe);
      status.textContent = `Report for ${from.value} to ${to.value}.`;
    } catch (error) {
      status.textContent = "";
      clear(frame, errorPanel(error, ctx));
    }
  };
  const download = async () => {
    try {
      const response = await ctx.api.call(`/v1/reports/chargeback?${query()}&format=csv`, { headers: { Accept: "text/csv" } });
      const link = h("a", { href: URL.createObjectURL(await response.blob()), download: `chargeback_${from.value}_${to.value}.csv` });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
    } catch (error) {
      clear(frame, errorPanel(error, ctx));
    }
  };
  const form = h("form", { class: "card report-form" },
    h("h1", {}, "Chargeback"),
    h("p", { class: "muted" }, scopeText(ctx.identity)),
    h("div", { class: "row" },
      h("div", { class: "field" }, h("label", { for: "report-from" }, "From"), from),
      h("div", { class: "field" }, h("label", { for: "report-to" }, "To"), to),
      h("div", { class: "field" }, h("label", { for: "report-group" }, "Group by"), group)),
    h("div", { class: "actions" },
      h("button", { type: "submit" }, "Show report"),
      h("button", { type: "button", class: "secondary", onclick: download }, "Download CSV"),
      ctx.auth.mode === "dev" ? h("a", { class: "button secondary", target: "_blank", rel: "noopener",
        href: `${ctx.api.config.apiBase}/v1/reports/chargeback.html`, onclick: (e) => { e.currentTarget.href = `${ctx.api.config.apiBase}/v1/reports/chargeback.html?${query()}`; } }, "Open as a page") : null));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    show();
  });
  clear(root, form, status, frame);
  show();
}

function scopeText(identity) {
  if (!identity) return "Sign in to see your unit's usage and cost.";
  return identity.roles.includes("finance")
    ? "You have the finance role: every business unit's usage and cost."
    : `Usage and cost of your business unit, ${identity.businessUnit}.`;
}
