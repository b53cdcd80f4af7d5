import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
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
  if (run.error) throw new Error(`kubectl kustomize ${dir}: ${run.error.message}; this test needs kubectl (v1.27 or later, for kustomize v5) on PATH`);
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
        found.push({ dir: relative(K8S, dir), kind: file.kind, components: (file.components ?? []).map((c) => relative(K8S, resolve(dir, c))) });
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

/** The environment a container starts with: its ConfigMaps, the example Secret of the same name, its own env. */
function podEnv(objects: K8sObject[], container: IContainer): Env {
  const env: Env = {};
  for (const source of container.envFrom ?? []) {
    if (source.configMapRef) Object.assign(env, one<IConfigMap>(objects, "ConfigMap", source.configMapRef.name!).data);
    if (source.secretRef) {
      const secret = exampleSecrets.find((s) => s.metadata?.name === source.secretRef!.name);
      expect(secret, `Secret ${source.secretRef.name} in secrets.example.yaml`).toBeDefined();
      Object.assign(env, secret!.stringData);
    }
  }
  for (const variable of container.env ?? []) env[variable.name] = variable.value;
  return env;
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
const unread = (env: Env, read: Set<string>, elsewhere: string[]) => Object.keys(env).filter((name) => !read.has(name) && !elsewhere.includes(name));

/** The last step of a worker's drain, after SHUTDOWN_TIMEOUT_MS: closing Chromium, bounded by the pool (a private constant there). */
function chromiumCloseTimeoutMs(): number {
  const source = readFileSync(join(ROOT, "packages/render-worker/src/browser/browser-pool.ts"), "utf8");
  const match = /const CLOSE_TIMEOUT_MS = ([\d_]+);/.exec(source);
  expect(match, "CLOSE_TIMEOUT_MS in browser-pool.ts").not.toBeNull();
  return Number(match![1]!.replaceAll("_", ""));
}

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
      .filter((o) => (o.kind === "ScaledObject" || o.kind === "HorizontalPodAutoscaler") && (o as unknown as IScaledObject).spec?.scaleTargetRef.name === WORKER)
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
    expect(hpa.spec!.metrics).toEqual([{ type: "External", external: { metric: { name: QUEUE_METRIC }, target: { type: "AverageValue", averageValue: "20" } } }]);
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

    it("API: native gRPC probes on the port it serves; live on the Health service, ready on the whole server", () => {
      const objects = objectsOf(dir);
      const container = containerOf(objects, API);
      const config = loadConfig(podEnv(objects, container));
      expect(container.ports).toEqual([
        { name: "grpc", containerPort: config.port },
        { name: "metrics", containerPort: config.metricsPort },
      ]);
      expect(config.port).toBe(3004);
      expect(container.startupProbe?.grpc).toEqual({ port: config.port, service: Health.typeName });
      expect(container.livenessProbe?.grpc).toEqual({ port: config.port, service: Health.typeName });
      expect(container.readinessProbe?.grpc).toEqual({ port: config.port });
    });

    it("worker: /livez and /readyz on its metrics port", () => {
      const objects = objectsOf(dir);
      const container = containerOf(objects, WORKER);
      const config = loadWorkerConfig(podEnv(objects, container));
      expect(container.ports).toEqual([{ name: "metrics", containerPort: config.metricsPort }]);
      expect(container.startupProbe?.httpGet).toEqual({ path: "/livez", port: "metrics" });
      expect(container.livenessProbe?.httpGet).toEqual({ path: "/livez", port: "metrics" });
      expect(container.readinessProbe?.httpGet).toEqual({ path: "/readyz", port: "metrics" });
    });

    it("every environment variable is one the service reads, and the config loads", () => {
      const objects = objectsOf(dir);
      const apiEnv = podEnv(objects, containerOf(objects, API));
      const workerEnv = podEnv(objects, containerOf(objects, WORKER));
      expect(unread(apiEnv, namesRead(loadConfig, apiEnv), READ_ELSEWHERE.api)).toEqual([]);
      expect(unread(workerEnv, namesRead(loadWorkerConfig, workerEnv), READ_ELSEWHERE.worker)).toEqual([]);
    });

    it("the grace period covers the drain", () => {
      const objects = objectsOf(dir);
      const worker = containerOf(objects, WORKER);
      const workerConfig = loadWorkerConfig(podEnv(objects, worker));
      // A render in progress at SIGTERM finishes or times out before the drain gives up on it.
      expect(workerConfig.shutdownTimeoutMs).toBeGreaterThanOrEqual(workerConfig.renderTimeoutMs);
      const workerDrainMs = preStopSeconds(worker) * 1000 + workerConfig.shutdownTimeoutMs + chromiumCloseTimeoutMs() + EXIT_MARGIN_MS;
      expect(one<IDeployment>(objects, "Deployment", WORKER).spec!.template.spec!.terminationGracePeriodSeconds! * 1000).toBeGreaterThanOrEqual(workerDrainMs);

      const api = containerOf(objects, API);
      const apiDrainMs = preStopSeconds(api) * 1000 + loadConfig(podEnv(objects, api)).shutdownTimeoutMs + EXIT_MARGIN_MS;
      expect(preStopSeconds(api)).toBeGreaterThan(0);
      expect(one<IDeployment>(objects, "Deployment", API).spec!.template.spec!.terminationGracePeriodSeconds! * 1000).toBeGreaterThanOrEqual(apiDrainMs);
    });

    it("metrics are scraped once: by annotation, or by a ServiceMonitor / PodMonitor", () => {
      const objects = objectsOf(dir);
      const monitors = objects.filter((o) => o.kind === "ServiceMonitor" || o.kind === "PodMonitor").map((o) => `${o.kind} ${o.metadata.name}`);
      const annotations = (name: string) => (one<IDeployment>(objects, "Deployment", name).spec!.template.metadata!.annotations ?? {}) as Record<string, string>;
      if (monitors.length > 0) {
        expect(monitors.sort()).toEqual([`PodMonitor ${WORKER}`, `ServiceMonitor ${API}`]);
        expect([annotations(API), annotations(WORKER)]).toEqual([{}, {}]);
      } else {
        const apiPort = String(loadConfig(podEnv(objects, containerOf(objects, API))).metricsPort);
        const workerPort = String(loadWorkerConfig(podEnv(objects, containerOf(objects, WORKER))).metricsPort);
        expect(annotations(API)).toEqual({ "prometheus.io/scrape": "true", "prometheus.io/port": apiPort, "prometheus.io/path": "/metrics" });
        expect(annotations(WORKER)).toEqual({ "prometheus.io/scrape": "true", "prometheus.io/port": workerPort, "prometheus.io/path": "/metrics" });
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
    expect(dockerfile.stageCopies).toContainEqual({ stage: "build", sources: [`/app/packages/${service}/dist`], dest: `packages/${service}/dist` });
    expect(dockerfile.runs).toContain(`pnpm build ${service}`);
    expect(dockerfile.copies.flatMap((copy) => copy.sources)).toContain("scripts/build.ts");
  });

  it("the worker image's Node flags are those of pnpm start:worker", () => {
    const script = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts["start:worker"]!;
    const flags = script.split(" ").filter((word) => word.startsWith("--max-"));
    expect(flags.length).toBeGreaterThan(0);
    expect(DOCKERFILES.worker.cmd).toEqual(["node", ...flags, "packages/render-worker/dist/main.mjs"]);
  });

  it("image ENV names are read by the services", () => {
    const apiEnv = { ...DOCKERFILES.api.env, QR_SIGNATURE_SECRET: "x".repeat(32) };
    expect(unread(apiEnv, namesRead(loadConfig, apiEnv), [...READ_ELSEWHERE.api, "QR_SIGNATURE_SECRET"])).toEqual([]);
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
  const compose = parse(readFileSync(join(ROOT, "deploy/compose.yaml"), "utf8"), { merge: true }) as { services: Record<string, ComposeService> };
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
    expect(services.api!.ports).toEqual([`${apiConfig.port}:${apiConfig.port}`, `${apiConfig.metricsPort}:${apiConfig.metricsPort}`]);
  });

  it("environment names are read by the services, and stop_grace_period covers the drain", () => {
    const apiEnv = envOf(services.api!, DOCKERFILES.api);
    const workerEnv = envOf(services.worker!, DOCKERFILES.worker);
    expect(unread(apiEnv, namesRead(loadConfig, apiEnv), READ_ELSEWHERE.api)).toEqual([]);
    expect(unread(workerEnv, namesRead(loadWorkerConfig, workerEnv), READ_ELSEWHERE.worker)).toEqual([]);
    const worker = loadWorkerConfig(workerEnv);
    expect(worker.shutdownTimeoutMs).toBeGreaterThanOrEqual(worker.renderTimeoutMs);
    expect(seconds(services.worker!.stop_grace_period) * 1000).toBeGreaterThanOrEqual(worker.shutdownTimeoutMs + chromiumCloseTimeoutMs() + EXIT_MARGIN_MS);
    expect(seconds(services.api!.stop_grace_period) * 1000).toBeGreaterThanOrEqual(loadConfig(apiEnv).shutdownTimeoutMs + EXIT_MARGIN_MS);
  });
});
