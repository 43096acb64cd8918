// validate-manifests.mjs NODE_MODULES DOCS.json — checks every manifest of deploy/ against the
// Kubernetes OpenAPI schemas (npm kubernetes-models, @kubernetes-models/prometheus-operator),
// then the references between them. Used by scripts/container-test.sh, which installs the two
// packages into a temp dir and converts the YAML files to DOCS.json ([{file, index, obj}]:
// node has no YAML parser of its own).
//
// - Kubernetes kinds (v1, apps/v1, autoscaling/v2, policy/v1) and the ServiceMonitor:
//   `new Kind(obj).validate()` (JSON-schema validation of the whole object).
// - KServe kinds (no npm models exist): the fields KServe requires, every container validated
//   as a core/v1 Container, protocol names, and the InferenceService -> runtime link.
// - Kustomizations: every listed resource exists.
// - Cross references: Service / PDB / Deployment selectors match the pod labels, named
//   targetPorts and probe ports exist, ConfigMaps and the HPA target exist.
// Prints one line per object; exit status 1 when anything is wrong.
import fs from "node:fs";
import path from "node:path";

const [nm, docsFile] = process.argv.slice(2);
const docs = JSON.parse(fs.readFileSync(docsFile, "utf8"));
const load = async (rel) => import(path.join(nm, rel));

const coreModule = {
  "v1": "kubernetes-models/v1",
  "apps/v1": "kubernetes-models/apps/v1",
  "autoscaling/v2": "kubernetes-models/autoscaling/v2",
  "policy/v1": "kubernetes-models/policy/v1",
  "monitoring.coreos.com/v1": "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1",
};
const KSERVE_PROTOCOLS = new Set(["v1", "v2", "grpc-v1", "grpc-v2"]);

let failures = 0;
const fail = (where, msg) => {
  failures++;
  console.log(`FAIL ${where}: ${msg}`);
};
const errText = (e) => (e && e.errors ? JSON.stringify(e.errors).slice(0, 600) : String(e));

const { Container } = await load("kubernetes-models/v1/Container.js");
const { ResourceRequirements } = await load("kubernetes-models/v1/ResourceRequirements.js");

function checkKServe(where, o) {
  const spec = o.spec || {};
  if (o.kind === "ServingRuntime" || o.kind === "ClusterServingRuntime") {
    if (o.apiVersion !== "serving.kserve.io/v1alpha1") return fail(where, `apiVersion ${o.apiVersion}`);
    const fmts = spec.supportedModelFormats;
    if (!Array.isArray(fmts) || !fmts.length) return fail(where, "spec.supportedModelFormats is empty");
    for (const f of fmts) {
      if (typeof f.name !== "string") fail(where, "supportedModelFormats[].name must be a string");
      if (f.version !== undefined && typeof f.version !== "string") fail(where, "supportedModelFormats[].version must be a string");
      if (f.autoSelect !== undefined && typeof f.autoSelect !== "boolean") fail(where, "autoSelect must be a boolean");
    }
    for (const p of spec.protocolVersions || []) if (!KSERVE_PROTOCOLS.has(p)) fail(where, `unknown protocol ${p}`);
    if (!Array.isArray(spec.containers) || !spec.containers.length) return fail(where, "spec.containers is empty");
    if (!spec.containers.some((c) => c.name === "kserve-container")) fail(where, "no container named kserve-container");
    for (const c of spec.containers) {
      try { new Container(c).validate(); } catch (e) { fail(where, `container ${c.name}: ${errText(e)}`); }
      const args = (c.args || []).join(" ");
      if (!args.includes("--model_base_path=/mnt/models")) fail(where, "args lack --model_base_path=/mnt/models");
    }
    return true;
  }
  if (o.kind === "InferenceService") {
    if (o.apiVersion !== "serving.kserve.io/v1beta1") return fail(where, `apiVersion ${o.apiVersion}`);
    const m = spec.predictor && spec.predictor.model;
    if (!m) return fail(where, "spec.predictor.model is missing");
    if (!m.modelFormat || typeof m.modelFormat.name !== "string") fail(where, "model.modelFormat.name is missing");
    if (typeof m.storageUri !== "string") fail(where, "model.storageUri is missing");
    if (m.resources) try { new ResourceRequirements(m.resources).validate(); } catch (e) { fail(where, errText(e)); }
    return true;
  }
  return fail(where, `unknown KServe kind ${o.kind}`);
}

const byKind = {};
for (const d of docs) {
  const o = d.obj;
  const where = `${d.file}#${d.index} ${o && o.kind}${o && o.metadata ? "/" + o.metadata.name : ""}`;
  if (!o || typeof o !== "object") { fail(where, "not an object"); continue; }
  (byKind[o.kind] = byKind[o.kind] || []).push({ ...d, where });
  const before = failures;
  if (o.kind === "Kustomization") {
    for (const r of o.resources || []) {
      if (!fs.existsSync(path.join(path.dirname(d.file), r))) fail(where, `resource ${r} does not exist`);
    }
  } else if ((o.apiVersion || "").startsWith("serving.kserve.io/")) {
    checkKServe(where, o);
  } else if (coreModule[o.apiVersion]) {
    let mod;
    try { mod = await load(`${coreModule[o.apiVersion]}/${o.kind}.js`); } catch (e) { fail(where, `no schema for ${o.apiVersion} ${o.kind}`); continue; }
    try { new mod[o.kind](o).validate(); } catch (e) { fail(where, errText(e)); }
  } else {
    fail(where, `no schema known for apiVersion ${o.apiVersion}`);
  }
  if (failures === before) console.log(`ok   ${where}`);
}

// ---- references between objects ----
const matches = (sel, labels) => Object.entries(sel || {}).every(([k, v]) => labels[k] === v);
const all = (k) => byKind[k] || [];
for (const d of all("Deployment")) {
  const t = d.obj.spec.template;
  const labels = t.metadata.labels || {};
  if (!matches(d.obj.spec.selector.matchLabels, labels)) fail(d.where, "selector does not match the pod labels");
  for (const c of t.spec.containers) {
    const names = new Set((c.ports || []).map((p) => p.name));
    for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"]) {
      const port = c[probe] && c[probe].httpGet && c[probe].httpGet.port;
      if (typeof port === "string" && !names.has(port)) fail(d.where, `${probe} port ${port} is not a container port`);
    }
    for (const vm of c.volumeMounts || []) {
      if (!(t.spec.volumes || []).some((v) => v.name === vm.name)) fail(d.where, `volumeMount ${vm.name} has no volume`);
    }
  }
  for (const v of t.spec.volumes || []) {
    if (v.configMap && !all("ConfigMap").some((c) => c.obj.metadata.name === v.configMap.name))
      fail(d.where, `ConfigMap ${v.configMap.name} is not defined`);
  }
  for (const s of all("Service")) {
    if (!matches(s.obj.spec.selector, labels)) fail(s.where, `selector misses the pods of ${d.obj.metadata.name}`);
    const names = new Set(t.spec.containers.flatMap((c) => (c.ports || []).map((p) => p.name)));
    for (const p of s.obj.spec.ports) {
      if (typeof p.targetPort === "string" && !names.has(p.targetPort)) fail(s.where, `targetPort ${p.targetPort} is not a container port`);
    }
  }
  for (const p of all("PodDisruptionBudget")) {
    if (!matches(p.obj.spec.selector.matchLabels, labels)) fail(p.where, `selector misses the pods of ${d.obj.metadata.name}`);
  }
}
for (const h of all("HorizontalPodAutoscaler")) {
  const ref = h.obj.spec.scaleTargetRef;
  if (!all(ref.kind).some((d) => d.obj.metadata.name === ref.name)) fail(h.where, `scale target ${ref.kind}/${ref.name} is not defined`);
}
for (const sm of all("ServiceMonitor")) {
  const ok = all("Service").some((s) => matches(sm.obj.spec.selector.matchLabels, s.obj.metadata.labels || {}) &&
    sm.obj.spec.endpoints.every((e) => s.obj.spec.ports.some((p) => p.name === e.port)));
  if (!ok) fail(sm.where, "selects no Service with its endpoint ports");
}
const runtimes = [...all("ClusterServingRuntime"), ...all("ServingRuntime")];
for (const i of all("InferenceService")) {
  const m = i.obj.spec.predictor.model;
  const rt = runtimes.find((r) => r.obj.metadata.name === m.runtime);
  if (!rt) { fail(i.where, `runtime ${m.runtime} is not defined`); continue; }
  if (!rt.obj.spec.supportedModelFormats.some((f) => f.name === m.modelFormat.name && (!m.modelFormat.version || f.version === m.modelFormat.version)))
    fail(i.where, `runtime ${m.runtime} does not support ${m.modelFormat.name} ${m.modelFormat.version || ""}`);
}

console.log(failures ? `${failures} problem(s) in ${docs.length} objects` : `all ${docs.length} objects valid`);
process.exit(failures ? 1 : 0);
