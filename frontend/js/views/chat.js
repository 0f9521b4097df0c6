// A chat session (POST /api/v1/chat/sessions), one streamed turn at a time
// (POST .../messages with Accept: text/event-stream). Shows each turn's usage and when the
// gateway left old turns out of the prompt to fit its budget (turns_dropped).
import { h, clear } from "../dom.js";
import { ApiError } from "../api.js";
import { errorPanel } from "../errors.js";
import { readEvents } from "../sse.js";
import { answerFacts } from "../answer.js";

let session = null; // {session_id, expires_at, max_turns}; kept while the page lives

export function renderChat(root, ctx) {
  const transcript = h("ol", { class: "transcript", "aria-live": "polite", "aria-label": "Conversation" });
  const input = h("textarea", { id: "chat-input", name: "content", rows: 3, required: true, maxlength: 32000,
    placeholder: "Ask something… (Enter sends, Shift+Enter adds a line)" });
  const send = h("button", { type: "submit" }, "Send");
  const info = h("p", { class: "muted session-info" }, session ? `Session ${session.session_id}` : "A new session starts with your first message.");
  const form = h("form", { class: "composer" },
    h("label", { for: "chat-input", class: "visually-hidden" }, "Message"), input,
    h("div", { class: "actions" }, send,
      h("button", { type: "button", class: "secondary", onclick: () => { session = null; renderChat(root, ctx); } }, "New chat")));
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const content = input.value.trim();
    if (!content) return;
    send.disabled = true;
    input.value = "";
    try {
      await turn(transcript, info, ctx, content);
    } finally {
      send.disabled = false;
      input.focus();
    }
  });
  clear(root, h("div", { class: "chat card" }, h("h1", {}, "Chat"), info, transcript, form));
  input.focus();
}

async function turn(transcript, info, ctx, content) {
  transcript.append(h("li", { class: "msg user" }, h("span", { class: "who" }, "You"), h("p", {}, content)));
  const reply = h("p", { class: "streaming", "aria-busy": "true" });
  const facts = h("div", { class: "turn-facts" });
  const item = h("li", { class: "msg assistant", dataset: { state: "streaming" } }, h("span", { class: "who" }, "Assistant"), reply, facts);
  transcript.append(item);
  item.scrollIntoView({ block: "nearest" });
  try {
    if (!session) {
      session = (await ctx.api.json("/v1/chat/sessions", { method: "POST", body: {} })).body;
      info.textContent = `Session ${session.session_id} · up to ${session.max_turns} turns`;
    }
    const response = await ctx.api.call(`/v1/chat/sessions/${encodeURIComponent(session.session_id)}/messages`, {
      method: "POST", body: { content }, headers: { Accept: "text/event-stream" },
    });
    for await (const { event, data } of readEvents(response)) {
      if (event === "delta") {
        reply.append(data.text);
      } else if (event === "done") {
        item.dataset.state = "done";
        if (data.turns_dropped > 0) {
          facts.append(h("p", { class: "notice", role: "status" },
            `${data.turns_dropped} earlier turn${data.turns_dropped === 1 ? " was" : "s were"} left out of the prompt to fit the model's budget.`));
        }
        facts.append(h("details", {}, h("summary", {}, `Turn ${data.turn ?? ""} · ${data.usage?.total_tokens ?? "?"} tokens`), answerFacts(data)));
      } else if (event === "error") {
        item.dataset.state = "error";
        facts.append(errorPanel(new ApiError(200, data), ctx));
      }
    }
  } catch (error) {
    item.dataset.state = "error";
    if (error.code === "session_not_found") session = null;
    facts.append(errorPanel(error, ctx));
  } finally {
    reply.setAttribute("aria-busy", "false");
    reply.classList.remove("streaming");
  }
}
