// Renders /api/v1/openapi.json as a readable reference, with no external scripts.
(function () {
  "use strict";
  var el = function (tag, attrs, children) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    (children || []).forEach(function (c) { e.appendChild(typeof c === "string" ? document.createTextNode(c) : c); });
    return e;
  };
  var resolve = function (doc, s) {
    if (s && s.$ref) { return doc.components.schemas[s.$ref.split("/").pop()] || {}; }
    return s || {};
  };
  var example = function (doc, s, depth) {
    s = resolve(doc, s);
    if (depth > 4) { return null; }
    if (s.examples && s.examples.length) { return s.examples[0]; }
    var t = Array.isArray(s.type) ? s.type.filter(function (x) { return x !== "null"; })[0] : s.type;
    if (t === "object" || s.properties) {
      var o = {};
      Object.keys(s.properties || {}).forEach(function (k) { if (k !== "$schema") { o[k] = example(doc, s.properties[k], depth + 1); } });
      return o;
    }
    if (t === "array") { return [example(doc, s.items, depth + 1)]; }
    if (t === "integer" || t === "number") { return 0; }
    if (t === "boolean") { return false; }
    if (s.enum) { return s.enum[0]; }
    return s.format ? "<" + s.format + ">" : "string";
  };
  fetch("/api/v1/openapi.json").then(function (r) {
    if (!r.ok) { throw new Error("HTTP " + r.status); }
    return r.json();
  }).then(function (doc) {
    var nav = document.getElementById("nav"), ops = document.getElementById("ops");
    ops.innerHTML = "";
    var groups = {};
    Object.keys(doc.paths || {}).sort().forEach(function (path) {
      Object.keys(doc.paths[path]).forEach(function (method) {
        var op = doc.paths[path][method];
        var tag = (op.tags && op.tags[0]) || "general";
        (groups[tag] = groups[tag] || []).push({ path: path, method: method.toUpperCase(), op: op });
      });
    });
    Object.keys(groups).sort().forEach(function (tag) {
      nav.appendChild(el("h2", {}, [tag]));
      groups[tag].forEach(function (o) {
        var id = o.op.operationId || (o.method + o.path);
        nav.appendChild(el("a", { href: "#" + id }, [o.method + " " + o.path]));
        var sec = el("section", { "class": "op", id: id }, [
          el("h3", {}, [el("span", { "class": "method " + o.method }, [o.method]), " ", el("code", {}, [o.path])]),
          el("p", {}, [o.op.summary || ""]),
          el("p", { "class": "muted" }, [o.op.description || ""])
        ]);
        if (o.op.parameters && o.op.parameters.length) {
          var tb = el("table", {}, [el("tr", {}, [el("th", {}, ["Parameter"]), el("th", {}, ["In"]), el("th", {}, ["Type"]), el("th", {}, ["Description"])])]);
          o.op.parameters.forEach(function (p) {
            var s = resolve(doc, p.schema);
            tb.appendChild(el("tr", {}, [el("td", {}, [el("code", {}, [p.name + (p.required ? " *" : "")])]), el("td", {}, [p.in]), el("td", {}, [String(s.type || "")]), el("td", {}, [p.description || ""])]));
          });
          sec.appendChild(tb);
        }
        var body = o.op.requestBody && o.op.requestBody.content && o.op.requestBody.content["application/json"];
        if (body) {
          sec.appendChild(el("h4", {}, ["Request body"]));
          sec.appendChild(el("pre", {}, [JSON.stringify(example(doc, body.schema, 0), null, 2)]));
        }
        // Successes with an example body; errors (problem documents) as one table.
        var errors = el("table", {}, [el("tr", {}, [el("th", {}, ["Error"]), el("th", {}, ["When"])])]), nerr = 0;
        Object.keys(o.op.responses || {}).forEach(function (code) {
          var r = o.op.responses[code], c = r.content || {};
          if (code === "default" || Number(code) >= 400) {
            errors.appendChild(el("tr", {}, [el("td", {}, [el("code", {}, [code])]), el("td", {}, [r.description || ""])]));
            nerr++;
            return;
          }
          var ct = c["application/json"] ? "application/json" : Object.keys(c)[0];
          var also = Object.keys(c).filter(function (k) { return k !== ct; });
          sec.appendChild(el("h4", {}, ["Response " + code + (ct ? " (" + ct + (also.length ? "; also " + also.join(", ") : "") + ")" : "")]));
          if (ct && c[ct].schema) { sec.appendChild(el("pre", {}, [JSON.stringify(example(doc, c[ct].schema, 0), null, 2)])); }
        });
        if (nerr) {
          sec.appendChild(el("h4", {}, ["Errors (application/problem+json, or problem+xml)"]));
          sec.appendChild(errors);
        }
        ops.appendChild(sec);
      });
    });
  }).catch(function (e) {
    document.getElementById("status").textContent = "Could not load the API description (" + e.message + "). Reload the page; if it persists, check that the server is running.";
  });
})();
