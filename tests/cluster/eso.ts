/**
 * External Secrets Operator v0.20.4, really running against the rig: its CRD bundle as its Go module ships it
 * (`deploy/crds/bundle.yaml`), and its controller (`cmd/controller`'s root command, built by rig/build.sh from
 * rig/eso/) run out of cluster as the rig's admin, its HTTPS traffic routed through the Azure twin's face.
 *
 * What was read in ESO's source (github.com/external-secrets/external-secrets@v0.20.4):
 * - `cmd/controller/root.go`: the root command runs the controllers only (the webhook and the cert controller are
 *   the `webhook` and `certcontroller` subcommands); it has no `--kubeconfig` flag (controller-runtime's
 *   `GetConfigOrDie` reads `KUBECONFIG`); `--metrics-addr` (default `:8080`) and `--live-addr` (`:8082`) listen on
 *   every interface unless set to `0`. The ExternalSecret and GeneratorState controllers always run; the
 *   ClusterSecretStore, ClusterExternalSecret, PushSecret and ClusterPushSecret ones follow
 *   `--enable-cluster-store-reconciler`, `--enable-cluster-external-secret-reconciler`,
 *   `--enable-push-secret-reconciler` and `--enable-cluster-push-secret-reconciler` (all on by default, as the Helm
 *   chart runs them; left so here). Their informers watch ESO's kinds, so the whole bundle is installed.
 * - `pkg/controllers/externalsecret/externalsecret_controller_secret.go`: `dataFrom[].sourceRef.generatorRef` calls
 *   the generator directly: no SecretStore, no ClusterSecretStore, no webhook. A failure sets `Ready` False with the
 *   fixed message "could not get secret data from provider" and puts the error itself in a Warning event
 *   (`markAsFailed`), so a test reads the reason from the events.
 * - `pkg/generator/acr/acr.go`: the generator calls `https://login.microsoftonline.com/<tenant>` (MSAL) and
 *   `https://<registry>/oauth2/exchange` with Go's default HTTP client, so `HTTPS_PROXY` routes both through the face
 *   and `SSL_CERT_FILE` makes Go trust the face's CA (Go never proxies loopback, so the API server is reached
 *   directly). The default client has no timeout: the face must answer.
 */
import * as assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { parseAllDocuments } from "yaml";
import { type Rig, waitFor } from "./rig";

/** The release rig/eso/go.mod requires: the CRDs and the controller come from it. */
export const ESO_VERSION = "v0.20.4";

/** The field manager the bundle is applied with, as `kubectl apply --server-side` would name itself. */
const BUNDLE_MANAGER = "external-secrets-bundle";

/** The API groups and resources the product writes, as ESO's discovery must list them. */
const SERVED = [
    { groupVersion: "external-secrets.io/v1", resource: "externalsecrets" },
    { groupVersion: "generators.external-secrets.io/v1alpha1", resource: "acraccesstokens" },
] as const;

/** The CRD bundle's path, or a clear failure when build.sh did not provide one. */
function bundlePath(rig: Rig): string {
    const file = rig.binaries.esoCrds;
    if (file === undefined) throw new Error("tests/cluster/rig/build.sh printed no ESO_CRDS: External Secrets Operator was not built");
    return file;
}

/**
 * Applies ESO's CRD bundle by server-side apply (two of its CRDs, the secret stores, are ~585 KB: over the 256 KB
 * annotation client-side apply would write) and waits until every CRD is Established and discovery serves
 * ExternalSecret in external-secrets.io/v1 and ACRAccessToken in generators.external-secrets.io/v1alpha1. Returns the
 * names of the CRDs applied.
 */
export async function installEsoCrds(rig: Rig): Promise<string[]> {
    const documents = parseAllDocuments(fs.readFileSync(bundlePath(rig), "utf8"));
    const names: string[] = [];
    for (const document of documents) {
        if (document.errors.length > 0) throw new Error(`ESO's CRD bundle does not parse: ${document.errors[0].message}`);
        const object = document.toJS() as { kind?: string; metadata?: { name?: string } } | null;
        if (object === null || object.kind !== "CustomResourceDefinition" || !object.metadata?.name) continue;
        const name = object.metadata.name;
        const applied = await rig.admin.apply(
            `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`,
            object,
            BUNDLE_MANAGER,
            true,
        );
        assert.ok(
            applied.status === 200 || applied.status === 201,
            `applying CRD ${name} answered ${applied.status}: ${JSON.stringify(applied.body).slice(0, 2000)}`,
        );
        names.push(name);
    }
    assert.ok(names.length > 0, `no CustomResourceDefinition in ${bundlePath(rig)}`);
    for (const name of names) {
        await waitFor(`CRD ${name} to be Established`, 60_000, async () => {
            const crd = await rig.admin.get(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`);
            const conditions = (crd.body as { status?: { conditions?: { type: string; status: string }[] } }).status?.conditions ?? [];
            return conditions.some((c) => c.type === "Established" && c.status === "True") ? true : undefined;
        });
    }
    for (const { groupVersion, resource } of SERVED) {
        await waitFor(`${resource} to be served in ${groupVersion}`, 60_000, async () => {
            const list = await rig.admin.get(`/apis/${groupVersion}`);
            const resources = (list.body as { resources?: { name: string }[] } | undefined)?.resources ?? [];
            return list.status === 200 && resources.some((r) => r.name === resource) ? true : undefined;
        });
    }
    return names;
}

/**
 * Makes the rig's service-account issuer discovery public, as AKS's OIDC issuer is: Entra (the twin's) fetches
 * `<issuer>/.well-known/openid-configuration` and the JWKS without credentials. Kubernetes serves them only to service
 * accounts by default; its docs bind `system:service-account-issuer-discovery` to `system:unauthenticated` for this.
 */
export async function publishServiceAccountIssuer(rig: Rig): Promise<void> {
    await rig.admin.create("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", {
        metadata: { name: "service-account-issuer-discovery-public" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "system:service-account-issuer-discovery" },
        subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: "system:unauthenticated" }],
    });
}

/** A running ESO controller. */
export interface Eso {
    /** Its output so far (the last 256 KB), for the message of a failing test. */
    logs(): string;
    stop(): Promise<void>;
}

/**
 * Starts ESO's controller as the rig's admin (so it may read service accounts and request their tokens, as its Helm
 * chart's ClusterRole allows) with `env` added (the twin face's `HTTPS_PROXY`, `NO_PROXY`, `SSL_CERT_FILE`), and waits
 * until its ExternalSecret controller has started its workers. Install the CRDs first.
 */
export async function startEso(rig: Rig, env: Readonly<Record<string, string>>): Promise<Eso> {
    const binary = rig.binaries.eso;
    if (binary === undefined) throw new Error("tests/cluster/rig/build.sh printed no ESO: External Secrets Operator was not built");
    const kubeconfig = path.join(rig.workDir, "eso.kubeconfig");
    fs.writeFileSync(kubeconfig, rig.kubeconfig(), { mode: 0o600 });
    const child: ChildProcess = spawn(
        binary,
        [
            // The defaults (:8080, :8082) listen on every interface and collide between parallel rigs.
            "--metrics-addr=0",
            "--live-addr=0",
            "--enable-leader-election=false",
            "--zap-time-encoding=iso8601",
        ],
        { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env, KUBECONFIG: kubeconfig } },
    );
    let output = "";
    const keep = (chunk: Buffer): void => {
        output = (output + chunk.toString("utf8")).slice(-262_144);
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    const exited = (): string | undefined =>
        child.exitCode === null && child.signalCode === null
            ? undefined
            : `external-secrets exited (${child.exitCode ?? child.signalCode}):\n${output}`;
    const stop = (): Promise<void> => {
        if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
        return new Promise((resolve) => {
            const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
            child.once("exit", () => {
                clearTimeout(timer);
                resolve();
            });
            child.kill("SIGTERM");
        });
    };
    try {
        // controller-runtime logs this once the controller's informers have synced and it takes work.
        await waitFor("ESO's ExternalSecret controller to start its workers", 120_000, () => {
            const failed = exited();
            if (failed) return Promise.reject(new Error(failed));
            return Promise.resolve(/"Starting workers".*"controller":"externalsecret"/.test(output) ? true : undefined);
        });
    } catch (error) {
        await stop();
        throw new Error(`${error instanceof Error ? error.message : String(error)}\n--- external-secrets\n${output}`, { cause: error });
    }
    return { logs: () => output, stop };
}

/** A condition of an ESO object's status. */
export interface EsoCondition {
    readonly type: string;
    readonly status: string;
    readonly reason?: string;
    readonly message?: string;
}

/** A Secret as the API server holds it. */
export interface HeldSecret {
    readonly metadata: {
        readonly name: string;
        readonly namespace: string;
        readonly ownerReferences?: readonly { kind: string; name: string; uid: string; controller?: boolean }[];
    };
    readonly type: string;
    readonly data: Readonly<Record<string, string>>;
}

const externalSecretPath = (namespace: string, name: string): string =>
    `/apis/external-secrets.io/v1/namespaces/${namespace}/externalsecrets/${name}`;

/** The `Ready` condition of an ExternalSecret, if it has one yet. */
export async function readyCondition(rig: Rig, namespace: string, name: string): Promise<EsoCondition | undefined> {
    const found = await rig.admin.get(externalSecretPath(namespace, name));
    assert.equal(found.status, 200, `GET ExternalSecret ${namespace}/${name} answered ${found.status}`);
    const conditions = (found.body as { status?: { conditions?: EsoCondition[] } }).status?.conditions ?? [];
    return conditions.find((condition) => condition.type === "Ready");
}

/** The messages of the Warning events ESO recorded for an ExternalSecret, oldest first. */
export async function esoWarnings(rig: Rig, namespace: string, name: string): Promise<string[]> {
    const selector = encodeURIComponent(`involvedObject.kind=ExternalSecret,involvedObject.name=${name},type=Warning`);
    const events = await rig.admin.get(`/api/v1/namespaces/${namespace}/events?fieldSelector=${selector}`);
    assert.equal(events.status, 200, `listing events in ${namespace} answered ${events.status}`);
    const items = (events.body as { items?: { message?: string; lastTimestamp?: string; firstTimestamp?: string }[] }).items ?? [];
    return items
        .sort((a, b) => (a.lastTimestamp ?? a.firstTimestamp ?? "").localeCompare(b.lastTimestamp ?? b.firstTimestamp ?? ""))
        .map((event) => event.message ?? "");
}

/**
 * Waits until ESO has made the ExternalSecret Ready and returns the Secret it wrote (`spec.target.name`), as the API
 * server holds it. On timeout the error carries the condition and ESO's warnings.
 */
export async function expectEsoSecret(rig: Rig, namespace: string, name: string, timeoutMs = 120_000): Promise<HeldSecret> {
    try {
        await waitFor(`ExternalSecret ${namespace}/${name} to be Ready`, timeoutMs, async () =>
            (await readyCondition(rig, namespace, name))?.status === "True" ? true : undefined,
        );
    } catch (error) {
        const condition = await readyCondition(rig, namespace, name);
        const warnings = await esoWarnings(rig, namespace, name);
        throw new Error(
            `${error instanceof Error ? error.message : String(error)}; Ready: ${JSON.stringify(condition)}; ESO's warnings: ${JSON.stringify(warnings)}`,
            { cause: error },
        );
    }
    const held = await rig.admin.get(externalSecretPath(namespace, name));
    const target = (held.body as { spec?: { target?: { name?: string } } }).spec?.target?.name ?? name;
    const secret = await rig.admin.get(`/api/v1/namespaces/${namespace}/secrets/${target}`);
    assert.equal(secret.status, 200, `the ExternalSecret is Ready but GET Secret ${namespace}/${target} answered ${secret.status}`);
    return secret.body as HeldSecret;
}

/**
 * Waits until ESO has marked the ExternalSecret not Ready and recorded a Warning whose message matches `reason`;
 * returns the condition and that message. On timeout the error carries the condition and every warning so far.
 */
export async function expectEsoFailure(
    rig: Rig,
    namespace: string,
    name: string,
    reason: RegExp,
    timeoutMs = 120_000,
): Promise<{ readonly condition: EsoCondition; readonly warning: string }> {
    try {
        return await waitFor(`ExternalSecret ${namespace}/${name} to fail with ${String(reason)}`, timeoutMs, async () => {
            const condition = await readyCondition(rig, namespace, name);
            if (condition?.status !== "False") return undefined;
            const warning = (await esoWarnings(rig, namespace, name)).find((message) => reason.test(message));
            return warning === undefined ? undefined : { condition, warning };
        });
    } catch (error) {
        const condition = await readyCondition(rig, namespace, name);
        const warnings = await esoWarnings(rig, namespace, name);
        throw new Error(
            `${error instanceof Error ? error.message : String(error)}; Ready: ${JSON.stringify(condition)}; ESO's warnings: ${JSON.stringify(warnings)}`,
            { cause: error },
        );
    }
}
