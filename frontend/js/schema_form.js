// A form built from a use case's input schema (the JSON Schema GET /api/v1/usecases returns):
// strings become text areas (or one-line inputs when short), numbers number inputs with their
// bounds, enums selects, booleans checkboxes. The browser checks required/min/max first; the
// gateway checks again and names any field it refuses (validation_failed).
import { h, uid } from "./dom.js";

const LONG_TEXT = 200; // strings allowed longer than this get a text area

export function schemaForm(schema, { idPrefix = "field" } = {}) {
  const required = new Set(schema.required || []);
  const fields = Object.entries(schema.properties || {}).map(([name, spec]) =>
    field(name, spec, required.has(name), idPrefix));
  const form = h("div", { class: "fields" }, fields.map((f) => f.row));
  return {
    element: form,
    values() {
      const out = {};
      for (const f of fields) {
        const value = f.read();
        if (value !== undefined) out[f.name] = value;
      }
      return out;
    },
    fill(values) {
      for (const f of fields) if (f.name in values) f.write(values[f.name]);
    },
  };
}

function field(name, spec, isRequired, idPrefix) {
  const id = uid(`${idPrefix}-${name}`);
  const hintId = `${id}-hint`;
  const label = spec.title || name.replace(/_/g, " ");
  const type = Array.isArray(spec.type) ? spec.type.find((t) => t !== "null") : spec.type;
  const common = { id, name, required: isRequired, "aria-describedby": spec.description ? hintId : null };
  let input;
  let read;
  if (Array.isArray(spec.enum)) {
    input = h("select", common, spec.enum.map((v) => h("option", { value: String(v) }, String(v))));
    if (spec.default !== undefined) input.value = String(spec.default);
    read = () => input.value;
  } else if (type === "integer" || type === "number") {
    input = h("input", {
      ...common, type: "number", inputmode: type === "integer" ? "numeric" : "decimal",
      min: spec.minimum, max: spec.maximum, step: type === "integer" ? 1 : "any",
      placeholder: spec.default !== undefined ? String(spec.default) : null,
    });
    read = () => (input.value === "" ? undefined : Number(input.value));
  } else if (type === "boolean") {
    input = h("input", { ...common, type: "checkbox", checked: spec.default === true });
    read = () => input.checked;
  } else {
    const long = !spec.maxLength || spec.maxLength > LONG_TEXT;
    const attrs = { ...common, minlength: spec.minLength, maxlength: spec.maxLength };
    input = long ? h("textarea", { ...attrs, rows: 8 }) : h("input", { ...attrs, type: "text" });
    read = () => (input.value === "" && !isRequired ? undefined : input.value);
  }
  const limits = [];
  if (spec.minimum !== undefined || spec.maximum !== undefined) {
    limits.push(`${spec.minimum ?? "…"}–${spec.maximum ?? "…"}`);
  }
  if (spec.default !== undefined) limits.push(`default ${spec.default}`);
  if (spec.maxLength) limits.push(`up to ${spec.maxLength.toLocaleString("en-US")} characters`);
  const hint = [spec.description, limits.join(", ")].filter(Boolean).join(" · ");
  const row = h("div", { class: `field field-${type || "string"}` },
    h("label", { for: id }, label, isRequired ? h("span", { class: "req", "aria-hidden": "true" }, " *") : null),
    input,
    hint ? h("p", { class: "hint", id: hintId }, hint) : null,
  );
  const write = (value) => {
    if (input.type === "checkbox") input.checked = Boolean(value);
    else input.value = String(value);
  };
  return { name, row, read, write };
}
