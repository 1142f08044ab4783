/**
 * The cluster tests' rig: a real Kubernetes control plane on 127.0.0.1 (kube-apiserver on kine or etcd, and
 * kube-controller-manager with the service-account, token and namespace controllers) and the Pulumi engine, all
 * built from Go modules by `tests/cluster/rig/build.sh` (cached), or taken from envtest's binaries when
 * `KUBEBUILDER_ASSETS` names them. Like envtest, one rig per suite: `startRig()` in a `before`, `rig.stop()` in an
 * `after`, and nothing left running or on disk once it stops.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as https from "node:https";
import * as os from "node:os";
import * as path from "node:path";
import { freePort } from "../freePort";

const REPO_ROOT = path.resolve(__dirname, "..", "..", "..");
const BUILD_SCRIPT = path.join(REPO_ROOT, "tests", "cluster", "rig", "build.sh");

/** The user the least-privilege kubeconfig signs in as. */
export const DELIVERY_USER = "aks-acr-cross-tenant-delivery";
/** A user that is bound to nothing at all, for tests of refusals. */
export const NOBODY_USER = "aks-acr-cross-tenant-nobody";

/** What `build.sh` printed: where each binary is. */
export interface RigBinaries {
    readonly kubeApiserver: string;
    readonly kubeControllerManager: string;
    readonly etcd?: string;
    readonly kine?: string;
    /** Directory holding `pulumi`, `pulumi-language-nodejs` and `pulumi-resource-pulumi-nodejs`. */
    readonly pulumiBinDir: string;
    readonly kubernetesPlugin: string;
    /** The version label the npm SDK asks the engine for. */
    readonly kubernetesPluginVersion: string;
    readonly kubernetesVersion: string;
    /** External Secrets Operator's controller (`external-secrets`, rig/eso/), run out of cluster by `eso.ts`. */
    readonly eso?: string;
    /** ESO's CRD bundle, `deploy/crds/bundle.yaml` of the module release `eso` is built from (in the module cache). */
    readonly esoCrds?: string;
}

let built: RigBinaries | undefined;

/** Builds what is missing (cached across runs) and returns where everything is. */
export function rigBinaries(): RigBinaries {
    if (built !== undefined) {
        return built;
    }
    // The build's progress goes to stderr, so a first run shows what it is waiting for.
    const output = execFileSync("bash", [BUILD_SCRIPT], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
    const values = new Map<string, string>();
    for (const line of output.split("\n")) {
        const at = line.indexOf("=");
        if (at > 0) values.set(line.slice(0, at), line.slice(at + 1));
    }
    const need = (key: string): string => {
        const value = values.get(key);
        if (!value) throw new Error(`${BUILD_SCRIPT} printed no ${key}:\n${output}`);
        return value;
    };
    built = {
        kubeApiserver: need("KUBE_APISERVER"),
        kubeControllerManager: need("KUBE_CONTROLLER_MANAGER"),
        etcd: values.get("ETCD") || undefined,
        kine: values.get("KINE") || undefined,
        pulumiBinDir: need("PULUMI_BIN_DIR"),
        kubernetesPlugin: need("PULUMI_RESOURCE_KUBERNETES"),
        kubernetesPluginVersion: need("PULUMI_RESOURCE_KUBERNETES_VERSION"),
        kubernetesVersion: need("KUBERNETES_VERSION"),
        eso: values.get("ESO") || undefined,
        esoCrds: values.get("ESO_CRDS") || undefined,
    };
    return built;
}

/** An answer of the API server, parsed. */
export interface ApiResponse {
    readonly status: number;
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    readonly body: any;
}

/** A minimal REST client for assertions: what the server holds, read back, never what a client believes it sent. */
export class Api {
    constructor(
        private readonly server: URL,
        private readonly ca: string,
        private readonly token: string,
    ) {}

    request(method: string, apiPath: string, body?: unknown, contentType = "application/json"): Promise<ApiResponse> {
        const payload = body === undefined ? undefined : JSON.stringify(body);
        return new Promise((resolve, reject) => {
            const request = https.request(
                {
                    host: this.server.hostname,
                    port: this.server.port,
                    path: apiPath,
                    method,
                    ca: this.ca,
                    timeout: 15_000,
                    headers: {
                        authorization: `Bearer ${this.token}`,
                        accept: "application/json",
                        ...(payload === undefined ? {} : { "content-type": contentType, "content-length": Buffer.byteLength(payload) }),
                    },
                },
                (response) => {
                    const chunks: Buffer[] = [];
                    response.on("data", (chunk: Buffer) => chunks.push(chunk));
                    response.on("end", () => {
                        const text = Buffer.concat(chunks).toString("utf8");
                        let parsed: unknown = text;
                        try {
                            parsed = text === "" ? undefined : JSON.parse(text);
                        } catch {
                            // Not JSON (for example /readyz): keep the text.
                        }
                        resolve({ status: response.statusCode ?? 0, body: parsed });
                    });
                },
            );
            request.on("timeout", () => request.destroy(new Error(`${method} ${apiPath} timed out`)));
            request.on("error", reject);
            if (payload !== undefined) request.write(payload);
            request.end();
        });
    }

    get(apiPath: string): Promise<ApiResponse> {
        return this.request("GET", apiPath);
    }

    /** Creates an object, failing the test on anything but 201. */
    async create(apiPath: string, object: unknown): Promise<ApiResponse> {
        const response = await this.request("POST", apiPath, object);
        if (response.status !== 201) {
            throw new Error(`POST ${apiPath} answered ${response.status}: ${JSON.stringify(response.body)}`);
        }
        return response;
    }

    /** A plain update by JSON patch, as `kubectl patch --type=json` sends it (managedFields operation Update). */
    jsonPatch(apiPath: string, operations: unknown[], fieldManager = "kubectl-patch"): Promise<ApiResponse> {
        return this.request("PATCH", `${apiPath}?fieldManager=${fieldManager}`, operations, "application/json-patch+json");
    }

    /** A server-side apply, as `kubectl apply --server-side` sends it. */
    apply(apiPath: string, object: unknown, fieldManager: string, force = false): Promise<ApiResponse> {
        return this.request(
            "PATCH",
            `${apiPath}?fieldManager=${fieldManager}${force ? "&force=true" : ""}`,
            object,
            "application/apply-patch+yaml",
        );
    }

    delete(apiPath: string): Promise<ApiResponse> {
        return this.request("DELETE", apiPath);
    }
}

/** Polls `check` until it returns a value, or fails with `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let lastError: unknown;
    for (;;) {
        try {
            const value = await check();
            if (value !== undefined) return value;
        } catch (error) {
            lastError = error;
        }
        if (Date.now() > deadline) {
            throw new Error(
                `timed out after ${timeoutMs} ms waiting for ${what}${lastError instanceof Error ? `: ${lastError.message}` : ""}`,
            );
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
    }
}

/** A running control plane. */
export interface Rig {
    readonly binaries: RigBinaries;
    /** `https://127.0.0.1:<port>` */
    readonly server: string;
    /** PEM of the serving certificate's issuer (the API server's self-signed bundle). */
    readonly ca: string;
    /** Client as cluster admin. */
    readonly admin: Api;
    /** Client as `user` (`DELIVERY_USER`, `NOBODY_USER`). */
    api(user: string): Api;
    /** A kubeconfig for `user` (default: cluster admin), as a stack's `kubeconfig` config would hold it. */
    kubeconfig(user?: string): string;
    /** A scratch directory removed by `stop()`. */
    readonly workDir: string;
    /** Output of every process so far, for the message of a failing test. */
    logs(): string;
    stop(): Promise<void>;
}

interface Managed {
    readonly name: string;
    readonly child: ChildProcess;
    output: string;
}

function startProcess(name: string, binary: string, args: readonly string[], managed: Managed[]): Managed {
    const child = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"], detached: false });
    const entry: Managed = { name, child, output: "" };
    const keep = (chunk: Buffer): void => {
        // The last 64 KB are plenty to say why a start failed.
        entry.output = (entry.output + chunk.toString("utf8")).slice(-65_536);
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    managed.push(entry);
    return entry;
}

function stopProcess(entry: Managed): Promise<void> {
    if (entry.child.exitCode !== null || entry.child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
        const timer = setTimeout(() => entry.child.kill("SIGKILL"), 5_000);
        entry.child.once("exit", () => {
            clearTimeout(timer);
            resolve();
        });
        entry.child.kill("SIGTERM");
    });
}

function exited(entry: Managed): string | undefined {
    const { exitCode, signalCode } = entry.child;
    if (exitCode === null && signalCode === null) return undefined;
    return `${entry.name} exited (${exitCode ?? signalCode}):\n${entry.output}`;
}

/**
 * Starts storage, the API server and the controller manager, and waits until the `default` namespace has its
 * `default` service account (the controllers work). Users sign in with static tokens: the admin in
 * `system:masters`, the others bound to nothing until a test grants them something. `apiServerArgs` are added to
 * the API server's flags (a test of a cluster that lacks an API turns it off with `--runtime-config`).
 */
export async function startRig(options: { readonly apiServerArgs?: readonly string[] } = {}): Promise<Rig> {
    const binaries = rigBinaries();
    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "aks-acr-rig-"));
    const managed: Managed[] = [];
    const logs = (): string => managed.map((entry) => `--- ${entry.name}\n${entry.output}`).join("\n");
    const stop = async (): Promise<void> => {
        for (const entry of [...managed].reverse()) await stopProcess(entry);
        fs.rmSync(workDir, { recursive: true, force: true });
    };
    try {
        const storagePort = await freePort();
        let storageUrl: string;
        if (binaries.kine !== undefined) {
            // SQLite in the scratch directory: kine's default backend, gone with the rig.
            startProcess(
                "kine",
                binaries.kine,
                [
                    `--endpoint=sqlite://${path.join(workDir, "state.db")}?_journal=WAL&cache=shared`,
                    `--listen-address=127.0.0.1:${storagePort}`,
                    "--metrics-bind-address=0",
                ],
                managed,
            );
            storageUrl = `http://127.0.0.1:${storagePort}`;
        } else {
            const peerPort = await freePort();
            storageUrl = `http://127.0.0.1:${storagePort}`;
            startProcess(
                "etcd",
                binaries.etcd ?? "etcd",
                [
                    `--data-dir=${path.join(workDir, "etcd")}`,
                    `--listen-client-urls=${storageUrl}`,
                    `--advertise-client-urls=${storageUrl}`,
                    `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
                    "--unsafe-no-fsync",
                ],
                managed,
            );
        }

        const tokens = new Map<string, string>([
            ["admin", randomBytes(24).toString("hex")],
            [DELIVERY_USER, randomBytes(24).toString("hex")],
            [NOBODY_USER, randomBytes(24).toString("hex")],
        ]);
        const tokenFile = path.join(workDir, "tokens.csv");
        fs.writeFileSync(
            tokenFile,
            [...tokens].map(([user, token]) => `${token},${user},${user}${user === "admin" ? ',"system:masters"' : ""}`).join("\n") + "\n",
            { mode: 0o600 },
        );
        const keys = generateKeyPairSync("rsa", { modulusLength: 2048 });
        const signingKey = path.join(workDir, "sa.key");
        const verifyingKey = path.join(workDir, "sa.pub");
        fs.writeFileSync(signingKey, keys.privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
        fs.writeFileSync(verifyingKey, keys.publicKey.export({ type: "spki", format: "pem" }));

        const port = await freePort();
        const server = `https://127.0.0.1:${port}`;
        const certDir = path.join(workDir, "pki");
        // envtest's minimal flag set, plus a token file for the users and the service-account issuer AKS exposes as
        // its OIDC issuer URL. The serving certificate is self-signed by the API server into --cert-dir.
        const apiserver = startProcess(
            "kube-apiserver",
            binaries.kubeApiserver,
            [
                `--etcd-servers=${storageUrl}`,
                `--secure-port=${port}`,
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                `--cert-dir=${certDir}`,
                "--service-cluster-ip-range=10.0.0.0/24",
                "--authorization-mode=RBAC",
                `--token-auth-file=${tokenFile}`,
                `--service-account-issuer=${server}`,
                `--service-account-key-file=${verifyingKey}`,
                `--service-account-signing-key-file=${signingKey}`,
                "--endpoint-reconciler-type=none",
                "--profiling=false",
                ...(options.apiServerArgs ?? []),
            ],
            managed,
        );
        const ca = await waitFor("the API server's serving certificate", 60_000, async () => {
            const failed = exited(apiserver);
            if (failed) throw new Error(failed);
            const file = path.join(certDir, "apiserver.crt");
            return fs.existsSync(file) && fs.statSync(file).size > 0 ? fs.readFileSync(file, "utf8") : undefined;
        });
        const url = new URL(server);
        const apiFor = (user: string): Api => {
            const token = tokens.get(user);
            if (token === undefined) throw new Error(`the rig has no user ${user}`);
            return new Api(url, ca, token);
        };
        const admin = apiFor("admin");
        await waitFor("the API server to be ready", 120_000, async () => {
            const failed = exited(apiserver);
            if (failed) throw new Error(failed);
            return (await admin.get("/readyz")).status === 200 ? true : undefined;
        });

        const kubeconfig = (user = "admin"): string => {
            const token = tokens.get(user);
            if (token === undefined) throw new Error(`the rig has no user ${user}`);
            return JSON.stringify({
                apiVersion: "v1",
                kind: "Config",
                clusters: [{ name: "rig", cluster: { server, "certificate-authority-data": Buffer.from(ca).toString("base64") } }],
                users: [{ name: user, user: { token } }],
                contexts: [{ name: "rig", context: { cluster: "rig", user } }],
                "current-context": "rig",
            });
        };
        const adminKubeconfig = path.join(workDir, "admin.kubeconfig");
        fs.writeFileSync(adminKubeconfig, kubeconfig(), { mode: 0o600 });
        const controllerManager = startProcess(
            "kube-controller-manager",
            binaries.kubeControllerManager,
            [
                `--kubeconfig=${adminKubeconfig}`,
                // What AKS runs and these tests rely on: default service accounts, legacy token data, namespace
                // deletion, and the garbage collector, which finishes foreground deletions (the Kubernetes provider
                // deletes with propagationPolicy Foreground, and without it every delete waits forever).
                "--controllers=serviceaccount,serviceaccount-token,namespace,garbagecollector",
                `--service-account-private-key-file=${signingKey}`,
                `--root-ca-file=${path.join(certDir, "apiserver.crt")}`,
                "--use-service-account-credentials=false",
                "--leader-elect=false",
                "--secure-port=0",
            ],
            managed,
        );
        await waitFor("the default service account of namespace default", 120_000, async () => {
            const failed = exited(controllerManager);
            if (failed) throw new Error(failed);
            return (await admin.get("/api/v1/namespaces/default/serviceaccounts/default")).status === 200 ? true : undefined;
        });
        return {
            binaries,
            server,
            ca,
            admin,
            api: apiFor,
            kubeconfig,
            workDir,
            logs,
            stop,
        };
    } catch (error) {
        const output = logs();
        await stop();
        throw new Error(`${error instanceof Error ? error.message : String(error)}\n${output}`, { cause: error });
    }
}
