"use strict";
(async () => {
  const content = document.getElementById("content");
  const el = (tag, text, cls) => { const n = document.createElement(tag); if (text !== undefined) n.textContent = text; if (cls) n.className = cls; return n; };
  let doc;
  try {
    const response = await fetch("/api/openapi.json");
    doc = await response.json();
  } catch (e) {
    content.textContent = "The OpenAPI document could not be loaded.";
    return;
  }
  const resolve = (schema) => {
    let seen = 0;
    while (schema && schema.$ref && seen++ < 20) {
      schema = schema.$ref.slice(2).split("/").reduce((node, key) => (node || {})[key], doc);
    }
    return schema || {};
  };
  const refName = (schema) => (schema && schema.$ref ? schema.$ref.split("/").pop() : null);
  // A schema as indented pseudo-JSON: {field: type (required)}; recursion stops at a repeated $ref.
  const describe = (schema, indent = "", trail = []) => {
    const name = refName(schema);
    if (name && trail.includes(name)) return name;
    const trailHere = name ? trail.concat(name) : trail;
    const s = resolve(schema);
    if (s.allOf && s.allOf.length === 1) return describe(s.allOf[0], indent, trailHere);
    if (s.type === "array" || s.items) return `[${describe(s.items || {}, indent, trailHere)}]`;
    if (s.properties || s.additionalProperties) {
      const inner = indent + "  ";
      const required = new Set(s.required || []);
      const lines = Object.entries(s.properties || {}).map(([key, value]) =>
        `${inner}${key}: ${describe(value, inner, trailHere)}${required.has(key) ? " (required)" : ""}`);
      if (s.additionalProperties && typeof s.additionalProperties === "object") lines.push(`${inner}*: ${describe(s.additionalProperties, inner, trailHere)}`);
      return `{\n${lines.join("\n")}\n${indent}}`;
    }
    let text = s.type || (s.oneOf || s.anyOf ? "one of several" : "any");
    if (s.format) text += ` (${s.format})`;
    if (s.enum) text += ` one of ${s.enum.join(" | ")}`;
    return text;
  };
  const schemaBlock = (title, contentMap) => {
    const wrap = el("div");
    wrap.append(el("h4", title));
    for (const [type, media] of Object.entries(contentMap || {})) {
      wrap.append(el("p", type));
      if (media.schema) wrap.append(el("pre", describe(media.schema)));
    }
    return wrap;
  };

  document.getElementById("title").textContent = `${doc.info.title} ${doc.info.version}`;
  content.textContent = "";
  if ((doc.info["x-unavailable-services"] || []).length) {
    content.append(el("p", `Not described (their service did not answer): ${doc.info["x-unavailable-services"].join(", ")}.`, "warning"));
  }
  for (const path of Object.keys(doc.paths).sort()) {
    for (const [method, op] of Object.entries(doc.paths[path])) {
      if (!["get", "post", "put", "patch", "delete"].includes(method)) continue;
      const box = el("details");
      const summary = el("summary");
      summary.append(el("span", method, `method ${method}`), el("code", path), document.createTextNode(op.summary ? ` — ${op.summary}` : ""));
      box.append(summary);
      if (op.description) box.append(el("p", op.description));
      if (op.security && op.security.length) box.append(el("p", "Needs a bearer token."));
      const parameters = (doc.paths[path].parameters || []).concat(op.parameters || []).map(resolve);
      if (parameters.length) {
        const table = el("table");
        table.append(Object.assign(el("tr"), { innerHTML: "<th>name</th><th>in</th><th>type</th><th>required</th>" }));
        for (const p of parameters) {
          const row = el("tr");
          row.append(el("td", p.name), el("td", p.in), el("td", describe(p.schema || {})), el("td", p.required ? "yes" : "no"));
          table.append(row);
        }
        box.append(el("h4", "Parameters"), table);
      }
      if (op.requestBody) box.append(schemaBlock("Request body", resolve(op.requestBody).content));
      for (const [status, response] of Object.entries(op.responses || {})) {
        const r = resolve(response);
        box.append(schemaBlock(`${status} ${r.description || ""}`, r.content));
      }
      content.append(box);
    }
  }
})();
