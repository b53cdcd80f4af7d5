import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { Deployment, type IDeployment } from "kubernetes-models/apps/v1/Deployment";
import { HorizontalPodAutoscaler, type IHorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { ConfigMap, type IConfigMap } from "kubernetes-models/v1/ConfigMap";
import type { IContainer } from "kubernetes-models/v1/Container";
import { Namespace } from "kubernetes-models/v1/Namespace";
import { Secret, type ISecret } from "kubernetes-models/v1/Secret";
import { Service } from "kubernetes-models/v1/Service";
import { ServiceAccount } from "kubernetes-models/v1/ServiceAccount";
import { ScaledObject, type IScaledObject } from "@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject";
import { PodMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor";
import { ServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor";
import { loadConfig, loadWorkerConfig, type Env } from "@ticketgen/shared";
import { Health } from "@ticketgen/shared/gen/health/v1/health_pb";
import { CLOSE_TIMEOUT_MS as CHROMIUM_CLOSE_TIMEOUT_MS } from "../../render-worker/src/browser/browser-pool.ts";
import { startScriptNodeFlags } from "../../../scripts/start-script-flags.ts";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const K8S = join(ROOT, "deploy/k8s");
const API = "ticketgen-api";
const WORKER = "ticketgen-render-worker";
const QUEUE_METRIC = "ticket_generation_queue_size";
/** Closing Redis / PostgreSQL connections and exiting after the drain, which the code does not bound. */
const EXIT_MARGIN_MS = 5000;

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
}

/** Every kind the manifests may contain, with the schema it must satisfy; anything else fails. */
const MODELS = new Map<string, new (data: never) => { validate(): void }>([
  ["v1/Namespace", Namespace],
  ["v1/ServiceAccount", ServiceAccount],
  ["v1/ConfigMap", ConfigMap],
  ["v1/Secret", Secret],
  ["v1/Service", Service],
  ["apps/v1/Deployment", Deployment],
  ["policy/v1/PodDisruptionBudget", PodDisruptionBudget],
  ["autoscaling/v2/HorizontalPodAutoscaler", HorizontalPodAutoscaler],
  ["keda.sh/v1alpha1/ScaledObject", ScaledObject],
  ["monitoring.coreos.com/v1/ServiceMonitor", ServiceMonitor],
  ["monitoring.coreos.com/v1/PodMonitor", PodMonitor],
]);

function schemaProblems(objects: K8sObject[]): string[] {
  return objects.flatMap((object) => {
    const id = `${object.apiVersion}/${object.kind}`;
    const Model = MODELS.get(id);
    if (!Model) return [`${id} ${object.metadata.name}: no schema known for this kind`];
    try {
      // Parsed YAML, typed by nothing: validate() is the check.
      new Model(object as never).validate();
      return [];
    } catch (error) {
      return [`${id} ${object.metadata.name}: ${(error as Error).message}`];
    }
  });
}

function parseYamlStream(text: string): K8sObject[] {
  return parseAllDocuments(text).map((doc) => {
    if (doc.errors.length > 0) throw doc.errors[0];
    return doc.toJS() as K8sObject;
  });
}

function kustomize(dir: string): K8sObject[] {
  const run = spawnSync("kubectl", ["kustomize", dir], { encoding: "utf8", maxBuffer: 16 * 1024 * 1024 });
  if (run.error)
    throw new Error(`kubectl kustomize ${dir}: ${run.error.message}; this test needs kubectl (v1.27 or later, for kustomize v5) on PATH`);
  if (run.status !== 0) throw new Error(`kubectl kustomize ${dir} exited ${run.status}: ${run.stderr}`);
  return parseYamlStream(run.stdout);
}

function kustomizations(): Array<{ dir: string; kind: string; components: string[] }> {
  const found: Array<{ dir: string; kind: string; components: string[] }> = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name === "kustomization.yaml") {
        const file = parse(readFileSync(path, "utf8")) as { kind: string; components?: string[] };
        found.push({
          dir: relative(K8S, dir),
          kind: file.kind,
          components: (file.components ?? []).map((c) => relative(K8S, resolve(dir, c))),
        });
      }
    }
  };
  walk(K8S);
  return found.sort((a, b) => a.dir.localeCompare(b.dir));
}

const ALL = kustomizations();
const BUILDS = ALL.filter((k) => k.kind === "Kustomization").map((k) => k.dir);
const OVERLAYS = BUILDS.filter((dir) => dir.startsWith("overlays/"));
const rendered = new Map(BUILDS.map((dir) => [dir, kustomize(join(K8S, dir))]));

const objectsOf = (dir: string) => rendered.get(dir)!;
const one = <T>(objects: K8sObject[], kind: string, name: string): T => {
  const found = objects.filter((o) => o.kind === kind && o.metadata.name === name);
  expect(found, `${kind} ${name}`).toHaveLength(1);
  return found[0] as T;
};
const containerOf = (objects: K8sObject[], name: string): IContainer => {
  const containers = one<IDeployment>(objects, "Deployment", name).spec!.template.spec!.containers;
  expect(containers).toHaveLength(1);
  return containers[0]!;
};
const preStopSeconds = (container: IContainer): number => {
  const command = container.lifecycle?.preStop?.exec?.command;
  if (!command) return 0;
  expect(command.slice(0, 1)).toEqual(["sleep"]);
  return Number(command[1]);
};

const exampleSecrets = parseYamlStream(readFileSync(join(K8S, "secrets.example.yaml"), "utf8")) as unknown as ISecret[];
const exampleSecret = (name: string | undefined): ISecret => {
  const secret = exampleSecrets.find((s) => s.metadata?.name === name);
  expect(secret, `Secret ${name} in secrets.example.yaml`).toBeDefined();
  return secret!;
};

/** Every variable the services read as a secret (each also as NAME_FILE). */
const SECRET_VARIABLES = [
  "QR_SIGNATURE_SECRET",
  "QR_SIGNING_KEYS",
  "AUTH_JWT_SECRET",
  "WEBHOOK_SECRET",
  "S3_ACCESS_KEY_ID",
  "S3_SECRET_ACCESS_KEY",
  "REDIS_PASSWORD",
  "DB_PASSWORD",
];

const kubeletDir = mkdtempSync(join(tmpdir(), "ticketgen-k8s-secret-volumes-"));
/**
 * What the kubelet makes of the container's Secret volumes, with the example Secrets: one file
 * per key (written with a trailing newline, as `kubectl create secret --from-file` often keeps
 * one) under the mount path; here in a temporary directory. Mount path → that directory.
 */
function secretMounts(objects: K8sObject[], deployment: string): Map<string, string> {
  const pod = one<IDeployment>(objects, "Deployment", deployment).spec!.template.spec!;
  const mounts = new Map<string, string>();
  for (const mount of pod.containers[0]!.volumeMounts ?? []) {
    const volume = pod.volumes?.find((v) => v.name === mount.name);
    if (!volume?.secret) continue;
    const dir = mkdtempSync(join(kubeletDir, `${deployment}-`));
    for (const [key, value] of Object.entries(exampleSecret(volume.secret.secretName).stringData ?? {}))
      writeFileSync(join(dir, key), `${value}\n`);
    mounts.set(mount.mountPath, dir);
  }
  return mounts;
}

/** The environment the container's spec gives it: its ConfigMaps and its own env, *_FILE paths pointing at the mounted Secrets. */
function containerEnv(objects: K8sObject[], deployment: string): Env {
  const container = containerOf(objects, deployment);
  const env: Env = {};
  for (const source of container.envFrom ?? []) {
    if (source.configMapRef) Object.assign(env, one<IConfigMap>(objects, "ConfigMap", source.configMapRef.name!).data);
    if (source.secretRef) Object.assign(env, exampleSecret(source.secretRef.name).stringData);
  }
  for (const variable of container.env ?? []) env[variable.name] = variable.value;
  for (const [mountPath, dir] of secretMounts(objects, deployment)) {
    for (const [name, value] of Object.entries(env))
      if (name.endsWith("_FILE") && value?.startsWith(`${mountPath}/`)) env[name] = dir + value.slice(mountPath.length);
  }
  return env;
}

/** The environment the process starts with: its image's ENV, then the container's. */
function podEnv(objects: K8sObject[], deployment: string): Env {
  return { ...DOCKERFILES[deployment === API ? "api" : "worker"].env, ...containerEnv(objects, deployment) };
}

/** Loads the config from `env` and returns the names it read: a name never read is a typo or set for the wrong service. */
function namesRead(load: (env: Env) => unknown, env: Env): Set<string> {
  const read = new Set<string>();
  load(
    new Proxy(env, {
      get(target, name) {
        if (typeof name === "string") read.add(name);
        return Reflect.get(target, name);
      },
    }),
  );
  return read;
}
/** Read outside the config loaders: Chromium keeps its profile under HOME; the logger reads NODE_ENV. */
const READ_ELSEWHERE = { api: ["NODE_ENV"], worker: ["NODE_ENV", "HOME"] };
const unread = (env: Env, read: Set<string>, elsewhere: string[]) =>
  Object.keys(env).filter((name) => !read.has(name) && !elsewhere.includes(name));

interface Dockerfile {
  /** COPY from the build context. */
  copies: Array<{ sources: string[]; dest: string }>;
  /** COPY --from=<stage>. */
  stageCopies: Array<{ stage: string; sources: string[]; dest: string }>;
  runs: string[];
  args: Record<string, string>;
  /** ENV and USER of the last stage, the image that runs. */
  env: Env;
  user: string | undefined;
  cmd: string[];
}

function readDockerfile(name: string): Dockerfile {
  const text = readFileSync(join(ROOT, "deploy/docker", name), "utf8").replace(/\\\n/g, " ");
  const result: Dockerfile = { copies: [], stageCopies: [], runs: [], args: {}, env: {}, user: undefined, cmd: [] };
  for (const line of text.split("\n").map((l) => l.trim())) {
    const [instruction, ...rest] = line.split(/\s+/);
    const words = rest.filter((word) => word.length > 0);
    switch (instruction) {
      case "FROM":
        result.env = {};
        result.user = undefined;
        break;
      case "ARG":
        for (const word of words) {
          const [key, value] = word.split("=");
          if (value !== undefined) result.args[key!] = value;
        }
        break;
      case "ENV":
        for (const word of words) {
          const [key, value] = word.split("=");
          result.env[key!] = value;
        }
        break;
      case "USER":
        result.user = words[0];
        break;
      case "CMD":
        result.cmd = JSON.parse(rest.join(" ")) as string[];
        break;
      case "COPY": {
        const paths = words.filter((word) => !word.startsWith("--"));
        const stage = words.find((word) => word.startsWith("--from="))?.slice("--from=".length);
        if (stage) result.stageCopies.push({ stage, sources: paths.slice(0, -1), dest: paths.at(-1)! });
        else result.copies.push({ sources: paths.slice(0, -1), dest: paths.at(-1)! });
        break;
      }
      case "RUN":
        result.runs.push(rest.join(" "));
        break;
    }
  }
  return result;
}

/** .dockerignore patterns as Docker applies them: from the context root, a match excludes everything below. */
function dockerIgnored(path: string): string | undefined {
  const patterns = readFileSync(join(ROOT, ".dockerignore"), "utf8")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line.length > 0 && !line.startsWith("#"));
  const ancestors = path.split("/").map((_, i, parts) => parts.slice(0, i + 1).join("/"));
  return patterns.find((pattern) => {
    const regex = new RegExp(
      `^${pattern
        .replace(/[.+^${}()|[\]\\]/g, "\\$&")
        .replace(/\*\*\//g, "\0")
        .replace(/\*/g, "[^/]*")
        .replace(/\?/g, "[^/]")
        .replace(/\0/g, "(?:.*/)?")}$`,
    );
    return ancestors.some((ancestor) => regex.test(ancestor));
  });
}

const DOCKERFILES = { api: readDockerfile("api.Dockerfile"), worker: readDockerfile("worker.Dockerfile") };

describe("Kubernetes manifests: kubectl kustomize, validated with kubernetes-models", () => {
  it("ships a base, overlays, and only components some overlay uses", () => {
    expect(BUILDS).toContain("base");
    expect(OVERLAYS.length).toBeGreaterThan(0);
    const used = new Set(ALL.flatMap((k) => k.components));
    const components = ALL.filter((k) => k.kind === "Component").map((k) => k.dir);
    expect(components.filter((dir) => !used.has(dir))).toEqual([]);
    expect(components.length).toBeGreaterThan(0);
  });

  it.each(BUILDS)("%s: every object passes its Kubernetes schema", (dir) => {
    expect(schemaProblems(objectsOf(dir))).toEqual([]);
  });

  it("the example Secrets pass their schema", () => {
    expect(exampleSecrets.map((s) => s.metadata?.name)).toEqual([API, WORKER]);
    expect(schemaProblems(exampleSecrets as unknown as K8sObject[])).toEqual([]);
  });

  it.each(BUILDS)("%s: every object is in the stack's one Namespace", (dir) => {
    const namespaces = objectsOf(dir).filter((o) => o.kind === "Namespace");
    expect(namespaces).toHaveLength(1);
    const name = namespaces[0]!.metadata.name;
    const misplaced = objectsOf(dir)
      .filter((o) => o.kind !== "Namespace" && o.metadata.namespace !== name)
      .map((o) => `${o.kind} ${o.metadata.name} in ${o.metadata.namespace ?? "(none)"}`);
    expect(misplaced).toEqual([]);
  });

  it.each(BUILDS)("%s: no worker replica count, and one autoscaler in an overlay, none in base", (dir) => {
    const objects = objectsOf(dir);
    expect(one<IDeployment>(objects, "Deployment", WORKER).spec!.replicas).toBeUndefined();
    expect(one<IDeployment>(objects, "Deployment", API).spec!.replicas).toBeUndefined();
    const autoscalers = objects
      .filter(
        (o) =>
          (o.kind === "ScaledObject" || o.kind === "HorizontalPodAutoscaler") &&
          (o as unknown as IScaledObject).spec?.scaleTargetRef.name === WORKER,
      )
      .map((o) => o.kind);
    expect(autoscalers).toHaveLength(dir === "base" ? 0 : 1);
  });

  it("production: KEDA's Prometheus trigger on the queue gauge, 20 jobs a worker, 1 to 20 workers", () => {
    const scaled = one<IScaledObject>(objectsOf("overlays/production"), "ScaledObject", WORKER);
    expect(scaled.spec!.scaleTargetRef).toEqual({ name: WORKER });
    expect(scaled.spec!.minReplicaCount).toBe(1);
    expect(scaled.spec!.maxReplicaCount).toBe(20);
    expect(scaled.spec!.fallback).toEqual({ failureThreshold: 3, replicas: 2 });
    expect(scaled.spec!.triggers).toHaveLength(1);
    const trigger = scaled.spec!.triggers[0]!;
    expect(trigger.type).toBe("prometheus");
    // Fallback only works with AverageValue, which also makes the threshold per replica.
    expect(trigger.metricType).toBe("AverageValue");
    expect(trigger.metadata).toMatchObject({
      // kustomize does not rewrite PromQL: the label must name the namespace the object landed in.
      query: `max(${QUEUE_METRIC}{namespace="${scaled.metadata!.namespace}"})`,
      threshold: "20",
      ignoreNullValues: "false",
    });
  });

  it("staging: the fallback HPA on prometheus-adapter's external metric, same threshold, 1 to 3 workers", () => {
    const hpa = one<IHorizontalPodAutoscaler>(objectsOf("overlays/staging"), "HorizontalPodAutoscaler", WORKER);
    expect(hpa.spec!.scaleTargetRef).toEqual({ apiVersion: "apps/v1", kind: "Deployment", name: WORKER });
    expect([hpa.spec!.minReplicas, hpa.spec!.maxReplicas]).toEqual([1, 3]);
    expect(hpa.spec!.metrics).toEqual([
      { type: "External", external: { metric: { name: QUEUE_METRIC }, target: { type: "AverageValue", averageValue: "20" } } },
    ]);
    const adapter = parse(readFileSync(join(K8S, "components/worker-hpa/prometheus-adapter-rules.yaml"), "utf8"));
    expect(adapter.rules.external).toHaveLength(1);
    expect(adapter.rules.external[0]).toMatchObject({ seriesQuery: `${QUEUE_METRIC}{namespace!=""}`, name: { as: QUEUE_METRIC } });
  });

  it("the KEDA threshold is explained with the benchmark it comes from", () => {
    const source = readFileSync(join(K8S, "components/keda/scaledobject.yaml"), "utf8");
    expect(source).toContain("# Threshold: 20 jobs per worker replica");
    expect(source).toContain("bench/RESULTS.md");
    expect(source).toContain(`threshold: "20"`);
  });

  it("resources: requests and limits on both containers, each explained with a benchmark", () => {
    for (const [name, file] of [
      [API, "base/api/deployment.yaml"],
      [WORKER, "base/worker/deployment.yaml"],
    ] as const) {
      const { resources } = containerOf(objectsOf("base"), name);
      expect(Object.keys(resources?.requests ?? {}).sort(), name).toEqual(["cpu", "memory"]);
      expect(Object.keys(resources?.limits ?? {}).sort(), name).toEqual(["cpu", "memory"]);
      const source = readFileSync(join(K8S, file), "utf8");
      const comment = /\n( +)resources:\n((?:\1 +#.*\n)+)\1 +requests:/.exec(source);
      expect(comment?.[2], file).toContain("bench/RESULTS.md");
    }
  });

  describe.each(BUILDS)("%s: containers", (dir) => {
    it("run as the images' non-root user, without privileges", () => {
      for (const name of [API, WORKER]) {
        const pod = one<IDeployment>(objectsOf(dir), "Deployment", name).spec!.template.spec!;
        expect(pod.securityContext, name).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000 });
        expect(pod.containers[0]!.securityContext, name).toEqual({
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ["ALL"] },
        });
      }
      expect([DOCKERFILES.api.user, DOCKERFILES.worker.user]).toEqual(["1000:1000", "1000:1000"]);
    });

    it("API: native gRPC probes on the gRPC port; live on the Health service, ready on the whole server; the web port exposed too", () => {
      const objects = objectsOf(dir);
      const container = containerOf(objects, API);
      const config = loadConfig(podEnv(objects, API));
      expect(container.ports).toEqual([
        { name: "grpc", containerPort: config.port },
        { name: "web", containerPort: config.webPort },
        { name: "metrics", containerPort: config.metricsPort },
      ]);
      expect([config.port, config.webPort]).toEqual([3004, 3005]);
      expect(container.startupProbe?.grpc).toEqual({ port: config.port, service: Health.typeName });
      expect(container.livenessProbe?.grpc).toEqual({ port: config.port, service: Health.typeName });
      expect(container.readinessProbe?.grpc).toEqual({ port: config.port });
    });

    it("worker: /livez and /readyz on its metrics port", () => {
      const objects = objectsOf(dir);
      const container = containerOf(objects, WORKER);
      const config = loadWorkerConfig(podEnv(objects, WORKER));
      expect(container.ports).toEqual([{ name: "metrics", containerPort: config.metricsPort }]);
      expect(container.startupProbe?.httpGet).toEqual({ path: "/livez", port: "metrics" });
      expect(container.livenessProbe?.httpGet).toEqual({ path: "/livez", port: "metrics" });
      expect(container.readinessProbe?.httpGet).toEqual({ path: "/readyz", port: "metrics" });
    });

    it("worker: Chromium's sandbox off under the RuntimeDefault seccomp profile, which refuses its user namespaces", () => {
      const objects = objectsOf(dir);
      expect(loadWorkerConfig(podEnv(objects, WORKER)).chromiumSandbox).toBe("false");
    });

    it("every environment variable is one the service reads, and the config loads with the image's environment", () => {
      const objects = objectsOf(dir);
      const apiEnv = containerEnv(objects, API);
      const workerEnv = containerEnv(objects, WORKER);
      expect(unread(apiEnv, namesRead(loadConfig, podEnv(objects, API)), READ_ELSEWHERE.api)).toEqual([]);
      expect(unread(workerEnv, namesRead(loadWorkerConfig, podEnv(objects, WORKER)), READ_ELSEWHERE.worker)).toEqual([]);
    });

    it("secrets reach the pods only as files: Secret volumes read-only, 0440 for the pod's group, *_FILE pointing at their keys", () => {
      const objects = objectsOf(dir);
      for (const name of [API, WORKER]) {
        const pod = one<IDeployment>(objects, "Deployment", name).spec!.template.spec!;
        const container = pod.containers[0]!;
        expect(container.envFrom?.filter((source) => source.secretRef) ?? [], name).toEqual([]);
        expect(container.env?.filter((variable) => variable.valueFrom?.secretKeyRef) ?? [], name).toEqual([]);
        const env = containerEnv(objects, name);
        expect(
          SECRET_VARIABLES.filter((variable) => env[variable] !== undefined),
          name,
        ).toEqual([]);
        for (const url of [env.DATABASE_URL, env.REDIS_URL]) if (url) expect(new URL(url).password, `${name}: ${url}`).toBe("");

        const volumes = (pod.volumes ?? []).filter((volume) => volume.secret);
        expect(
          volumes.map((volume) => volume.secret!.secretName),
          name,
        ).toEqual([name]);
        // Files are root's, group fsGroup: the group may read, nobody else, and the process runs in that group.
        expect(volumes[0]!.secret!.defaultMode, name).toBe(0o440);
        expect(pod.securityContext?.fsGroup, name).toBe(pod.securityContext?.runAsGroup);
        const mount = container.volumeMounts!.find((m) => m.name === volumes[0]!.name)!;
        expect(mount.readOnly, name).toBe(true);
        const keys = Object.keys(exampleSecret(name).stringData ?? {});
        const files = (container.env ?? []).filter((variable) => variable.name.endsWith("_FILE"));
        expect(files.map((variable) => variable.value).sort(), name).toEqual(keys.map((key) => `${mount.mountPath}/${key}`).sort());
        expect(files.map((variable) => variable.name).sort(), name).toEqual(keys.map((key) => `${key}_FILE`).sort());
      }
    });

    it("the services read the example Secrets' values from the mounted files", () => {
      const objects = objectsOf(dir);
      const api = loadConfig(podEnv(objects, API));
      const worker = loadWorkerConfig(podEnv(objects, WORKER));
      const values = (name: string) => exampleSecret(name).stringData!;
      expect(api.keyRing.signing).toEqual({ kid: "K1", secret: Buffer.from(values(API).QR_SIGNING_KEYS!.slice("K1:".length)) });
      expect(Buffer.from(api.auth!.jwtSecret!).toString()).toBe(values(API).AUTH_JWT_SECRET);
      expect(decodeURIComponent(new URL(api.databaseUrl!).password)).toBe(values(API).DB_PASSWORD);
      for (const [config, name] of [
        [api, API],
        [worker, WORKER],
      ] as const) {
        expect(decodeURIComponent(new URL(config.redisUrl).password), name).toBe(values(name).REDIS_PASSWORD);
        expect(config.blobStore, name).toMatchObject({
          kind: "s3",
          accessKeyId: values(name).S3_ACCESS_KEY_ID,
          secretAccessKey: values(name).S3_SECRET_ACCESS_KEY,
        });
      }
    });

    it("the grace period covers the drain", () => {
      const objects = objectsOf(dir);
      const worker = containerOf(objects, WORKER);
      const workerConfig = loadWorkerConfig(podEnv(objects, WORKER));
      // A render in progress at SIGTERM finishes or times out before the drain gives up on it.
      expect(workerConfig.shutdownTimeoutMs).toBeGreaterThanOrEqual(workerConfig.renderTimeoutMs);
      const workerDrainMs = preStopSeconds(worker) * 1000 + workerConfig.shutdownTimeoutMs + CHROMIUM_CLOSE_TIMEOUT_MS + EXIT_MARGIN_MS;
      expect(
        one<IDeployment>(objects, "Deployment", WORKER).spec!.template.spec!.terminationGracePeriodSeconds! * 1000,
      ).toBeGreaterThanOrEqual(workerDrainMs);

      const api = containerOf(objects, API);
      const apiDrainMs = preStopSeconds(api) * 1000 + loadConfig(podEnv(objects, API)).shutdownTimeoutMs + EXIT_MARGIN_MS;
      expect(preStopSeconds(api)).toBeGreaterThan(0);
      expect(
        one<IDeployment>(objects, "Deployment", API).spec!.template.spec!.terminationGracePeriodSeconds! * 1000,
      ).toBeGreaterThanOrEqual(apiDrainMs);
    });

    it("metrics are scraped once: by annotation, or by a ServiceMonitor / PodMonitor", () => {
      const objects = objectsOf(dir);
      const monitors = objects
        .filter((o) => o.kind === "ServiceMonitor" || o.kind === "PodMonitor")
        .map((o) => `${o.kind} ${o.metadata.name}`);
      const annotations = (name: string) =>
        (one<IDeployment>(objects, "Deployment", name).spec!.template.metadata!.annotations ?? {}) as Record<string, string>;
      if (monitors.length > 0) {
        expect(monitors.sort()).toEqual([`PodMonitor ${WORKER}`, `ServiceMonitor ${API}`]);
        expect([annotations(API), annotations(WORKER)]).toEqual([{}, {}]);
      } else {
        const apiPort = String(loadConfig(podEnv(objects, API)).metricsPort);
        const workerPort = String(loadWorkerConfig(podEnv(objects, WORKER)).metricsPort);
        expect(annotations(API)).toEqual({
          "prometheus.io/scrape": "true",
          "prometheus.io/port": apiPort,
          "prometheus.io/path": "/metrics",
        });
        expect(annotations(WORKER)).toEqual({
          "prometheus.io/scrape": "true",
          "prometheus.io/port": workerPort,
          "prometheus.io/path": "/metrics",
        });
      }
    });
  });
});

describe("Dockerfiles", () => {
  it.each(Object.entries(DOCKERFILES))("%s: every COPY source is in the repository and not in .dockerignore", (_, dockerfile) => {
    const sources = dockerfile.copies.flatMap((copy) => copy.sources);
    expect(sources.length).toBeGreaterThan(0);
    expect(sources.filter((source) => !existsSync(join(ROOT, source)))).toEqual([]);
    expect(sources.map((source) => [source, dockerIgnored(source)]).filter(([, pattern]) => pattern)).toEqual([]);
  });

  const SERVICE_OF = { api: "api", worker: "render-worker" } as const;
  it.each(Object.entries(DOCKERFILES))("%s: runs its bundle, made in the build stage by scripts/build.ts", (image, dockerfile) => {
    const service = SERVICE_OF[image as keyof typeof SERVICE_OF];
    expect(dockerfile.cmd.at(-1)).toBe(`packages/${service}/dist/main.mjs`);
    expect(dockerfile.stageCopies).toContainEqual({
      stage: "build",
      sources: [`/app/packages/${service}/dist`],
      dest: `packages/${service}/dist`,
    });
    expect(dockerfile.runs).toContain(`pnpm build ${service}`);
    expect(dockerfile.copies.flatMap((copy) => copy.sources)).toContain("scripts/build.ts");
  });

  it.each(Object.entries(DOCKERFILES))("%s: the image's Node flags are those of pnpm start:<service>", (image, dockerfile) => {
    const flags = startScriptNodeFlags(image as keyof typeof SERVICE_OF);
    expect(flags.length).toBeGreaterThan(0);
    expect(dockerfile.cmd).toEqual(["node", ...flags, `packages/${SERVICE_OF[image as keyof typeof SERVICE_OF]}/dist/main.mjs`]);
  });

  it("the worker image installs the fonts the set-up and CI install (scripts/setup.sh FONT_PACKAGES)", () => {
    const fonts =
      /^FONT_PACKAGES=\(([^)]*)\)/m
        .exec(readFileSync(join(ROOT, "scripts/setup.sh"), "utf8"))?.[1]
        ?.trim()
        .split(/\s+/) ?? [];
    expect(fonts).toEqual(expect.arrayContaining(["fonts-noto-core", "fonts-noto-cjk", "fonts-noto-color-emoji"]));
    const installed = DOCKERFILES.worker.runs.find((run) => run.includes("apt-get install"))?.split(/\s+/) ?? [];
    expect(fonts.filter((font) => !installed.includes(font))).toEqual([]);
  });

  it("the api image installs the fonts badges and labels are drawn in", () => {
    const installed = DOCKERFILES.api.runs.find((run) => run.includes("apt-get install"))?.split(/\s+/) ?? [];
    expect(installed).toEqual(expect.arrayContaining(["fonts-dejavu-core", "fonts-noto-core", "fonts-noto-cjk"]));
  });

  it("image ENV names are read by the services", () => {
    // The secrets come from the deployment (NODE_ENV=production requires authentication).
    const secrets = { QR_SIGNATURE_SECRET: "x".repeat(32), AUTH_JWT_SECRET: "y".repeat(32) };
    const apiEnv = { ...DOCKERFILES.api.env, ...secrets };
    expect(unread(apiEnv, namesRead(loadConfig, apiEnv), [...READ_ELSEWHERE.api, ...Object.keys(secrets)])).toEqual([]);
    const workerEnv = DOCKERFILES.worker.env;
    expect(unread(workerEnv, namesRead(loadWorkerConfig, workerEnv), READ_ELSEWHERE.worker)).toEqual([]);
  });
});

describe("deploy/compose.yaml", () => {
  interface ComposeService {
    image: string;
    build?: { context: string; dockerfile: string };
    environment?: Record<string, string>;
    healthcheck?: { test: string[] };
    depends_on?: Record<string, { condition: string }>;
    deploy?: { replicas?: number };
    stop_grace_period?: string;
    ports?: string[];
  }
  const compose = parse(readFileSync(join(ROOT, "deploy/compose.yaml"), "utf8"), { merge: true }) as {
    services: Record<string, ComposeService>;
  };
  const services = compose.services;
  // Compose fills ${VAR:-default} from the shell; the defaults are what a bare `up` gets.
  const envOf = (service: ComposeService, image: Dockerfile): Env => ({
    ...image.env,
    ...Object.fromEntries(Object.entries(service.environment ?? {}).map(([k, v]) => [k, String(v).replace(/\$\{\w+:-([^}]*)\}/g, "$1")])),
  });
  const seconds = (duration: string | undefined) => Number(/^(\d+)s$/.exec(duration ?? "")?.[1]);

  it("runs PostgreSQL, Redis, the API and two workers, each with a healthcheck", () => {
    expect(Object.keys(services).sort()).toEqual(["api", "postgres", "redis", "worker"]);
    expect(services.worker!.deploy?.replicas).toBe(2);
    for (const [name, service] of Object.entries(services)) expect(service.healthcheck?.test.length, name).toBeGreaterThan(1);
    expect(services.api!.depends_on).toEqual({ postgres: { condition: "service_healthy" }, redis: { condition: "service_healthy" } });
    expect(services.worker!.depends_on).toEqual({ redis: { condition: "service_healthy" } });
  });

  it("builds the two images from the repository root", () => {
    expect(services.api!.build).toEqual({ context: "..", dockerfile: "deploy/docker/api.Dockerfile" });
    expect(services.worker!.build).toEqual({ context: "..", dockerfile: "deploy/docker/worker.Dockerfile" });
    expect(resolve(ROOT, "deploy", services.api!.build!.context)).toBe(resolve(ROOT));
  });

  it("health checks ask the API's gRPC health script and the worker's /readyz", () => {
    const script = DOCKERFILES.api.copies.find((copy) => copy.sources.includes("deploy/docker/grpc-health-check.mjs"))!.dest;
    expect(services.api!.healthcheck!.test).toEqual(["CMD", "node", script]);
    const workerConfig = loadWorkerConfig(envOf(services.worker!, DOCKERFILES.worker));
    expect(services.worker!.healthcheck!.test.join(" ")).toContain(`http://127.0.0.1:${workerConfig.metricsPort}/readyz`);
    const apiConfig = loadConfig(envOf(services.api!, DOCKERFILES.api));
    expect(services.api!.ports).toEqual([
      `127.0.0.1:${apiConfig.port}:${apiConfig.port}`,
      `127.0.0.1:${apiConfig.webPort}:${apiConfig.webPort}`,
      `127.0.0.1:${apiConfig.metricsPort}:${apiConfig.metricsPort}`,
    ]);
  });

  it("turns Chromium's sandbox off in the worker: Docker's default seccomp profile refuses its user namespaces", () => {
    expect(loadWorkerConfig(envOf(services.worker!, DOCKERFILES.worker)).chromiumSandbox).toBe("false");
  });

  it("environment names are read by the services, and stop_grace_period covers the drain", () => {
    const apiEnv = envOf(services.api!, DOCKERFILES.api);
    const workerEnv = envOf(services.worker!, DOCKERFILES.worker);
    expect(unread(apiEnv, namesRead(loadConfig, apiEnv), READ_ELSEWHERE.api)).toEqual([]);
    expect(unread(workerEnv, namesRead(loadWorkerConfig, workerEnv), READ_ELSEWHERE.worker)).toEqual([]);
    const worker = loadWorkerConfig(workerEnv);
    expect(worker.shutdownTimeoutMs).toBeGreaterThanOrEqual(worker.renderTimeoutMs);
    expect(seconds(services.worker!.stop_grace_period) * 1000).toBeGreaterThanOrEqual(
      worker.shutdownTimeoutMs + CHROMIUM_CLOSE_TIMEOUT_MS + EXIT_MARGIN_MS,
    );
    expect(seconds(services.api!.stop_grace_period) * 1000).toBeGreaterThanOrEqual(loadConfig(apiEnv).shutdownTimeoutMs + EXIT_MARGIN_MS);
  });
});
