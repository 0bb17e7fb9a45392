// validate.mjs - checks api/openapi.json with a real OpenAPI validator, and live lingerd
// answers against the document's schemas.  Driven by tests/it_openapi.py; every mode prints
// one JSON document on stdout and exits 0 unless it could not run at all.
//
//   node validate.mjs document  OPENAPI.json           the document itself
//   node validate.mjs responses OPENAPI.json SAMPLES   answers recorded by the test
//   node validate.mjs probes    OPENAPI.json           parameter values, valid or not per the document
import { readFileSync } from "node:fs";
import { Validator } from "@seriousme/openapi-schema-validator";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

const METHODS = ["get", "head", "post", "put", "patch", "delete", "options", "trace"];
const SCHEMA_BASE = "lingerd-openapi";

function readJson(file) {
  return JSON.parse(readFileSync(file, "utf8"));
}

// Follows a local "$ref" ("#/components/...") in the OpenAPI layer (not inside schemas).
function deref(doc, obj) {
  let o = obj;
  for (let hops = 0; o && typeof o.$ref === "string"; hops++) {
    if (hops > 16 || !o.$ref.startsWith("#/")) throw new Error(`unresolvable $ref ${o.$ref}`);
    o = o.$ref
      .slice(2)
      .split("/")
      .map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"))
      .reduce((a, k) => (a === undefined ? undefined : a[k]), doc);
    if (o === undefined) throw new Error(`dangling $ref ${obj.$ref}`);
  }
  return o;
}

// Schemas point at "#/components/schemas/X"; for Ajv they become "<base>#/$defs/X".
function rewriteRefs(v) {
  if (Array.isArray(v)) return v.map(rewriteRefs);
  if (v && typeof v === "object") {
    const out = {};
    for (const [k, x] of Object.entries(v)) {
      if (k === "$ref" && typeof x === "string" && x.startsWith("#/components/schemas/"))
        out[k] = `${SCHEMA_BASE}#/$defs/${x.slice("#/components/schemas/".length)}`;
      else out[k] = rewriteRefs(x);
    }
    return out;
  }
  return v;
}

function makeAjv(doc) {
  // strict: an unknown keyword or a meaningless combination in the document is an error.
  const ajv = new Ajv2020({ strict: true, allErrors: true, strictTypes: false, validateFormats: true });
  addFormats(ajv);
  ajv.addSchema({ $id: SCHEMA_BASE, $defs: rewriteRefs(doc.components?.schemas ?? {}) });
  const cache = new Map();
  return (schema) => {
    const key = JSON.stringify(schema);
    if (!cache.has(key)) cache.set(key, ajv.compile(rewriteRefs(schema)));
    return cache.get(key);
  };
}

function fmtErrors(errors) {
  return (errors ?? []).slice(0, 8).map((e) => `${e.instancePath || "/"} ${e.message}` +
    (e.params && Object.keys(e.params).length ? ` ${JSON.stringify(e.params)}` : ""));
}

function* operations(doc) {
  for (const [path, item] of Object.entries(doc.paths ?? {}))
    for (const m of METHODS) if (item[m]) yield { path, method: m, op: item[m], item };
}

function opParams(doc, item, op) {
  const byKey = new Map();
  for (const p of [...(item.parameters ?? []), ...(op.parameters ?? [])]) {
    const r = deref(doc, p);
    byKey.set(`${r.in}:${r.name}`, r);
  }
  return [...byKey.values()];
}

// ---- document ---------------------------------------------------------------------------
async function checkDocument(file) {
  const errors = [];
  const validator = new Validator();
  const res = await validator.validate(file);
  if (!res.valid) for (const e of [].concat(res.errors ?? [])) errors.push(`validator: ${JSON.stringify(e)}`);
  const doc = readJson(file);
  if (!String(doc.openapi).startsWith("3.1.")) errors.push(`openapi is ${doc.openapi}, not 3.1.x`);
  try {
    validator.resolveRefs();
  } catch (e) {
    errors.push(`refs: ${e.message}`);
  }
  let compile;
  try {
    compile = makeAjv(doc);
  } catch (e) {
    errors.push(`schemas: ${e.message}`);
    return { valid: false, version: validator.version, errors };
  }
  const tryCompile = (where, schema) => {
    try {
      return compile(schema);
    } catch (e) {
      errors.push(`${where}: schema does not compile: ${e.message}`);
      return null;
    }
  };
  for (const [name, s] of Object.entries(doc.components?.schemas ?? {})) tryCompile(`schemas.${name}`, s);
  if (JSON.stringify(doc).includes('"deprecated":true')) errors.push("something is marked deprecated");

  let ops = 0;
  const ids = new Set();
  for (const { path, method, op, item } of operations(doc)) {
    const where = `${method.toUpperCase()} ${path}`;
    ops++;
    if (op.operationId) {
      if (ids.has(op.operationId)) errors.push(`${where}: duplicate operationId ${op.operationId}`);
      ids.add(op.operationId);
    } else errors.push(`${where}: no operationId`);
    if (!op.summary) errors.push(`${where}: no summary`);
    const params = opParams(doc, item, op);
    for (const p of params) {
      if (!p.schema) errors.push(`${where}: parameter ${p.name} has no schema`);
      if (!p.description) errors.push(`${where}: parameter ${p.name} has no description`);
      const v = p.schema && tryCompile(`${where} ${p.name}`, p.schema);
      if (v && p.example !== undefined && !v(p.example))
        errors.push(`${where}: example of ${p.name} does not match: ${fmtErrors(v.errors)}`);
    }
    for (const tpl of path.match(/\{[^}]+\}/g) ?? [])
      if (!params.some((p) => p.in === "path" && `{${p.name}}` === tpl)) errors.push(`${where}: ${tpl} undeclared`);
    for (const [status, r0] of Object.entries(op.responses ?? {})) {
      const r = deref(doc, r0);
      const code = Number(status);
      if (method === "head" && r.content) errors.push(`${where} ${status}: HEAD has no body`);
      if (method !== "head" && !r.content) errors.push(`${where} ${status}: no content`);
      for (const [mt, media] of Object.entries(r.content ?? {})) {
        const v = media.schema ? tryCompile(`${where} ${status} ${mt}`, media.schema) : null;
        if (!v) {
          errors.push(`${where} ${status} ${mt}: no schema`);
          continue;
        }
        if (media.example !== undefined && !v(media.example))
          errors.push(`${where} ${status} ${mt}: example does not match: ${fmtErrors(v.errors)}`);
        if (code >= 400 && path !== "/healthz") {
          const isError = compile({ $ref: "#/components/schemas/Error" });
          if (media.example === undefined || !isError(media.example))
            errors.push(`${where} ${status}: an error response must carry an Error example`);
        }
      }
      for (const [hname, h0] of Object.entries(r.headers ?? {})) {
        const h = deref(doc, h0);
        if (!h.schema) errors.push(`${where} ${status}: header ${hname} has no schema`);
        else tryCompile(`${where} ${status} header ${hname}`, h.schema);
      }
    }
    if (method === "get" && !op.responses?.["200"]) errors.push(`${where}: no 200`);
  }
  for (const [path, item] of Object.entries(doc.paths ?? {}))
    for (const m of ["get", "head", "post", "put", "patch", "delete", "options"])
      if (!item[m]) errors.push(`${path}: ${m} not documented`);
  return { valid: errors.length === 0, version: validator.version, operations: ops, errors };
}

// ---- responses --------------------------------------------------------------------------
function matchPath(doc, path) {
  for (const tpl of Object.keys(doc.paths)) {
    const re = new RegExp("^" + tpl.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\\?\{[^}]+\\?\}/g, "[^/]+") + "$");
    if (re.test(path)) return tpl;
  }
  return null;
}

function mediaFor(content, contentType) {
  const bare = (s) => s.split(";")[0].trim().toLowerCase();
  if (content[contentType]) return [contentType, content[contentType]];
  for (const [mt, media] of Object.entries(content)) if (bare(mt) === bare(contentType)) return [mt, media];
  return [null, null];
}

function checkResponses(file, samplesFile) {
  const doc = readJson(file);
  const compile = makeAjv(doc);
  const results = [];
  for (const s of readJson(samplesFile)) {
    const errs = [];
    const tpl = s.template ?? matchPath(doc, s.path);
    const item = tpl && doc.paths[tpl];
    const op = item && item[s.method.toLowerCase()];
    if (!op) {
      results.push({ id: s.id, ok: false, errors: [`${s.method} ${s.path}: not documented`] });
      continue;
    }
    const r0 = op.responses[String(s.status)] ?? op.responses[`${String(s.status)[0]}XX`] ?? op.responses.default;
    if (!r0) {
      results.push({ id: s.id, ok: false, template: tpl,
        errors: [`${s.method} ${tpl}: status ${s.status} is not documented (documented: ${Object.keys(op.responses)})`] });
      continue;
    }
    const r = deref(doc, r0);
    const headers = Object.fromEntries(Object.entries(s.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
    for (const [hname, h0] of Object.entries(r.headers ?? {})) {
      const h = deref(doc, h0);
      const v = headers[hname.toLowerCase()];
      if (v === undefined) {
        if (h.required) errs.push(`header ${hname} missing`);
        continue;
      }
      const hv = compile(h.schema);
      if (!hv(v)) errs.push(`header ${hname}=${JSON.stringify(v)}: ${fmtErrors(hv.errors)}`);
    }
    if (s.method.toUpperCase() === "HEAD") {
      if (s.body) errs.push("HEAD answered with a body");
    } else if (r.content) {
      const [mt, media] = mediaFor(r.content, s.content_type ?? "");
      if (!media) errs.push(`content type ${JSON.stringify(s.content_type)} not documented (documented: ${Object.keys(r.content)})`);
      else {
        let body = s.body;
        let parsed = true;
        if (/json/.test(mt)) {
          try {
            body = JSON.parse(s.body);
          } catch (e) {
            errs.push(`body is not JSON: ${e.message}`);
            parsed = false;
          }
        }
        if (parsed) {
          const v = compile(media.schema);
          if (!v(body)) errs.push(...fmtErrors(v.errors).map((e) => `body ${e}`));
        }
      }
    }
    results.push({ id: s.id, ok: errs.length === 0, template: tpl, errors: errs });
  }
  return results;
}

// ---- probes -----------------------------------------------------------------------------
// Query values are strings on the wire; the document's schema applies to what they mean.
function deserialize(param, schema, raw, doc) {
  const s = schema.$ref ? deref(doc, schema) : schema;
  if (s.type === "array" && param.explode === false) return raw.split(",").map((x) => deserialize(param, s.items, x, doc));
  if (s.type === "integer" || s.type === "number") return /^-?[0-9]+(\.[0-9]+)?$/.test(raw) ? Number(raw) : raw;
  return raw;
}

function probeValues(doc, p) {
  const s = p.schema.$ref ? deref(doc, p.schema) : p.schema;
  const vals = new Set(["", "x y", "a".repeat(257)]);
  const add = (v) => vals.add(String(v));
  if (p.example !== undefined) add(Array.isArray(p.example) ? p.example.join(",") : p.example);
  if (s.default !== undefined) add(s.default);
  if (s.type === "integer" || s.type === "number") {
    for (const b of [s.minimum, s.maximum]) if (b !== undefined) [b, b - 1, b + 1].forEach(add);
    ["abc", "1.5", "-1", "nan", "0x10", "1e3", " 1"].forEach(add);
  }
  const en = s.enum ?? (s.items && (s.items.$ref ? deref(doc, s.items) : s.items).enum);
  if (en) {
    en.forEach(add);
    en.forEach((v) => add(String(v).toUpperCase()));
    add("bogus");
    if (s.type === "array") {
      add(en.slice(0, 2).join(","));
      add(`${en[0]},`);
      add(`,${en[0]}`);
      add(`${en[0]},bogus`);
    }
  }
  if (s.type === "string" && !s.enum) {
    if (s.maxLength) add("a".repeat(s.maxLength + 1));
    if (s.maxLength) add("a".repeat(Math.min(s.maxLength, 16)));
    ["0", "-1", "1_", "_1", "zz_zz"].forEach(add);
  }
  return [...vals];
}

function probes(file) {
  const doc = readJson(file);
  const compile = makeAjv(doc);
  const out = [];
  for (const { path, method, op, item } of operations(doc)) {
    if (method !== "get") continue;
    for (const p of opParams(doc, item, op)) {
      const v = compile(p.schema);
      for (const raw of probeValues(doc, p)) {
        if (p.in === "path" && (raw === "" || raw.includes("/"))) continue;
        const valid = v(deserialize(p, p.schema, raw, doc));
        out.push({ template: path, in: p.in, name: p.name, value: raw, valid });
      }
    }
  }
  return out;
}

// ---- main -------------------------------------------------------------------------------
const [mode, file, extra] = process.argv.slice(2);
try {
  let out;
  if (mode === "document") out = await checkDocument(file);
  else if (mode === "responses") out = checkResponses(file, extra);
  else if (mode === "probes") out = probes(file);
  else {
    console.error("usage: node validate.mjs document|responses|probes OPENAPI.json [SAMPLES.json]");
    process.exit(64);
  }
  process.stdout.write(JSON.stringify(out) + "\n");
} catch (e) {
  console.error(`validate.mjs: ${e.stack ?? e}`);
  process.exit(2);
}
