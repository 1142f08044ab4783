/**
 * The registries behind the Azure twin's `<registry>.azurecr.io`: a real registry (Debian's `docker-registry`, the CNCF
 * distribution registry 2.8) per login server on 127.0.0.1, with token authentication by ACR's token service
 * (`acr.ts`), reverse-proxied by the HTTPS face so that a client sees one host, as with ACR: the challenge, its realm
 * `https://<login server>/oauth2/token`, the token service and the blobs.
 *
 * What it imitates, and where that was read:
 * - distribution 2.8's token authentication (`registry/auth/token/` in distribution/distribution v2.8, and its
 *   configuration reference): `auth.token.realm`, `service`, `issuer`, `rootcertbundle`; a token passes if its `iss`
 *   is the issuer, its `aud` the service, it is within `nbf`..`exp` on the registry's clock, and it is signed by the
 *   key of an `x5c` chain that ends in the root bundle; an access it lacks is `401 UNAUTHORIZED` with
 *   `WWW-Authenticate: Bearer realm=..,service=..,scope=..,error="insufficient_scope"`. The face passes the
 *   registry's challenge through unchanged.
 * - ACR answers on the login server itself (Azure/acr `docs/AAD-OAuth.md`: realm and service are the login server);
 *   dedicated data endpoints and storage redirects are not imitated (`http.relativeurls`, blobs served inline).
 * - The image: an OCI image layout (OCI image spec `image-layout.md`) with one config and one single-file ustar layer,
 *   pushed with `skopeo copy` as ACR's admin user, since nothing can be downloaded here.
 *
 * Clients reach it as the kubelet would: `skopeo` (containers/image, what CRI-O pulls with) with `--authfile` = a
 * `.dockerconfigjson`, through `HTTPS_PROXY` (Go's `http.ProxyFromEnvironment`) with the run's CA in `SSL_CERT_FILE`.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import { freePort } from "../freePort";
import { ACR_ISSUER, AcrTokenService, createAcrSigningKey, type AcrAdminUser, type AcrSigningKey } from "./acr";
import type { TwinFace, TwinHandler, TwinResponse } from "./https";
import type { TwinStore } from "./store";

/** Each binary the registry side needs, and the Debian package that ships it. */
export const REGISTRY_TOOLS = [
    { binary: "docker-registry", debianPackage: "docker-registry" },
    { binary: "skopeo", debianPackage: "skopeo" },
    { binary: "openssl", debianPackage: "openssl" },
] as const;

const START_TIMEOUT_MS = 10_000;
const PROXY_TIMEOUT_MS = 30_000;
const SKOPEO_TIMEOUT_MS = 60_000;
/** The label the test image carries, naming what was pushed, so a pull proves which image came back. */
export const IMAGE_LABEL = "aks-acr-cross-tenant.test/image";
const HOP_BY_HOP = new Set([
    "connection",
    "keep-alive",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
]);

/** The binaries of `REGISTRY_TOOLS` not on `PATH`. */
export function missingRegistryTools(): string[] {
    return REGISTRY_TOOLS.filter((tool) => !onPath(tool.binary)).map((tool) => `${tool.binary} (Debian package ${tool.debianPackage})`);
}

/**
 * For a suite's `before`: skips it when the tools are missing on a developer's machine, and fails it under CI (`CI`
 * set), where `.ci/run` installs them and a skip would hide that the pulls stopped being tested.
 */
export function requireRegistryTools(context: Mocha.Context): void {
    const missing = missingRegistryTools();
    if (missing.length === 0) return;
    const message = `pulls need ${missing.join(", ")} on PATH; install with: apt-get install docker-registry skopeo openssl`;
    if ((process.env.CI ?? "") !== "") throw new Error(`${message} (CI is set, so this is a failure, not a skip)`);
    console.warn(`      skipped: ${message}`);
    context.skip();
}

/** One running distribution registry on loopback. */
export interface RegistryBackend {
    readonly loginServer: string;
    /** `http://127.0.0.1:<port>`. */
    readonly url: string;
    /** What the registry printed so far (its log). */
    output(): string;
    stop(): Promise<void>;
}

/** Starts a registry for `loginServer` that takes only tokens signed by `signingKey`'s chain, for that service. */
export async function startRegistryBackend(options: {
    readonly loginServer: string;
    readonly dir: string;
    readonly rootCertFile: string;
}): Promise<RegistryBackend> {
    fs.mkdirSync(options.dir, { recursive: true });
    const port = await freePort();
    // JSON is YAML, so no YAML writer is needed.
    const config = {
        version: "0.1",
        log: { level: "info", formatter: "text", accesslog: { disabled: true } },
        storage: { filesystem: { rootdirectory: path.join(options.dir, "storage") } },
        http: { addr: `127.0.0.1:${port}`, secret: randomBytes(16).toString("hex"), relativeurls: true },
        auth: {
            token: {
                realm: `https://${options.loginServer}/oauth2/token`,
                service: options.loginServer,
                issuer: ACR_ISSUER,
                rootcertbundle: options.rootCertFile,
            },
        },
    };
    const configFile = path.join(options.dir, "config.yml");
    fs.writeFileSync(configFile, JSON.stringify(config, null, 2));
    const child: ChildProcess = spawn("docker-registry", ["serve", configFile], {
        stdio: ["ignore", "pipe", "pipe"],
        env: { PATH: process.env.PATH },
    });
    let log = "";
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (log += chunk));
    child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (log += chunk));
    const url = `http://127.0.0.1:${port}`;
    const stop = async (): Promise<void> => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        const killer = setTimeout(() => child.kill("SIGKILL"), 2000);
        await exited;
        clearTimeout(killer);
    };
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
        if (child.exitCode !== null || child.signalCode !== null) {
            throw new Error(
                `docker-registry for ${options.loginServer} exited (${child.exitCode ?? child.signalCode}) before answering:\n${log}`,
            );
        }
        const status = await new Promise<number>((resolve) => {
            const request = http.get(`${url}/v2/`, { timeout: 1000 }, (response) => {
                response.resume();
                resolve(response.statusCode ?? 0);
            });
            request.on("timeout", () => request.destroy());
            request.on("error", () => resolve(0));
        });
        // 401 is the registry up with token auth on, asking an anonymous client for a token.
        if (status === 401) break;
        if (status !== 0) {
            await stop();
            throw new Error(`docker-registry for ${options.loginServer} answered GET /v2/ with ${status}, not 401:\n${log}`);
        }
        if (Date.now() > deadline) {
            await stop();
            throw new Error(`docker-registry for ${options.loginServer} did not answer within ${START_TIMEOUT_MS} ms:\n${log}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return { loginServer: options.loginServer, url, output: () => log, stop };
}

/** The face's handler for a registry's `/v2/...`: the request forwarded to the backend, its answer sent back as is. */
export function registryProxy(backend: RegistryBackend): TwinHandler {
    const target = new URL(backend.url);
    return (request) =>
        new Promise<TwinResponse>((resolve, reject) => {
            const headers: Record<string, string> = {};
            for (const [name, value] of Object.entries(request.headers)) {
                if (value === undefined || HOP_BY_HOP.has(name) || name === "host" || name === "content-length") continue;
                headers[name] = Array.isArray(value) ? value.join(", ") : value;
            }
            headers.host = request.host;
            headers["x-forwarded-proto"] = "https";
            headers["content-length"] = String(request.body.length);
            const forwarded = http.request(
                {
                    host: target.hostname,
                    port: target.port,
                    method: request.method,
                    path: `${request.url.pathname}${request.url.search}`,
                    headers,
                    timeout: PROXY_TIMEOUT_MS,
                },
                (response) => {
                    const chunks: Buffer[] = [];
                    response.on("data", (chunk: Buffer) => chunks.push(chunk));
                    response.on("error", reject);
                    response.on("end", () => {
                        const status = response.statusCode ?? 502;
                        const answer: Record<string, string> = {};
                        for (const [name, value] of Object.entries(response.headers)) {
                            if (value === undefined || HOP_BY_HOP.has(name)) continue;
                            if (name === "content-length" && request.method !== "HEAD") continue;
                            answer[name] = Array.isArray(value) ? value.join(", ") : value;
                        }
                        const raw = Buffer.concat(chunks);
                        let body: unknown = request.method === "HEAD" ? undefined : raw;
                        // Registry errors are JSON: parsed, the face records their code.
                        if (status >= 400 && /json/.test(answer["content-type"] ?? "") && raw.length > 0) {
                            try {
                                body = JSON.parse(raw.toString("utf8")) as unknown;
                            } catch {
                                // sent as it came
                            }
                        }
                        const challenge = answer["www-authenticate"];
                        const scope = /scope="([^"]*)"/.exec(challenge ?? "")?.[1];
                        const error = /error="([^"]*)"/.exec(challenge ?? "")?.[1];
                        resolve({
                            status,
                            headers: answer,
                            body,
                            ...(status === 401 ? { decision: `registry: ${error ?? "no token"}${scope ? ` for ${scope}` : ""}` } : {}),
                        });
                    });
                },
            );
            forwarded.on("timeout", () => forwarded.destroy(new Error(`the registry for ${request.host} did not answer in time`)));
            forwarded.on("error", reject);
            forwarded.end(request.body);
        });
}

/** The outcome of one `skopeo` run. */
export interface SkopeoResult {
    readonly exitCode: number;
    readonly stdout: string;
    readonly stderr: string;
}

/** The outcome of a pull. */
export interface PullResult extends SkopeoResult {
    /** The image's `IMAGE_LABEL`, read from the pulled config blob: which image came back. */
    readonly label?: string;
    /**
     * Who refused, read from skopeo's message: `token service` (the credentials: `/oauth2/token` answered 401), or
     * `registry` (a token without this repository: the registry answered 401 or 403).
     */
    readonly refusedBy?: "token service" | "registry";
}

/** ACR's token service, a registry per login server, the face's routes to them, and skopeo to push and pull. */
export interface TwinAcr {
    readonly tokenService: AcrTokenService;
    readonly signingKey: AcrSigningKey;
    readonly backends: ReadonlyMap<string, RegistryBackend>;
    /** ACR's admin user of a registry (enabled on first ask): what the tests push with. */
    adminUser(loginServer: string): AcrAdminUser;
    /** Pushes the small test image to `<loginServer>/<repository>:<tag>` as the admin user; its label names it. */
    push(loginServer: string, repository: string, tag?: string): Promise<void>;
    /** The label `push` gives the image at that reference. */
    labelOf(loginServer: string, repository: string, tag?: string): string;
    /** Pulls `image` (`<login server>/<repository>:<tag>`) with `authFile` (a `.dockerconfigjson`) as its only credentials. */
    pull(image: string, authFile: string): Promise<PullResult>;
    /** Writes `text` (a `.dockerconfigjson`) to a file of its own, mode 0600, and returns its path. */
    writeAuthFile(text: string): string;
    /** Runs skopeo with the face's environment and an empty home (no ambient credentials, mirrors or policy). */
    skopeo(args: readonly string[]): Promise<SkopeoResult>;
    stop(): Promise<void>;
}

/**
 * Adds ACR to a running face: the token service and a registry for each registry of the store (or the listed login
 * servers), routed on each login server (`/oauth2/...` to the token service, `/v2/...` to the registry).
 */
export async function startTwinAcr(options: {
    readonly face: TwinFace;
    readonly store: TwinStore;
    /** Where keys, registries' storage, images and auth files go (created if missing). */
    readonly dir: string;
    readonly loginServers?: readonly string[];
}): Promise<TwinAcr> {
    fs.mkdirSync(options.dir, { recursive: true });
    const signingKey = createAcrSigningKey(path.join(options.dir, "keys"));
    const tokenService = new AcrTokenService({ store: options.store, entraTokens: options.face.tokens, signingKey });
    const loginServers = options.loginServers ?? Object.values(options.store.read().registries).map((r) => r.loginServer);
    const backends = new Map<string, RegistryBackend>();
    try {
        for (const loginServer of loginServers) {
            const backend = await startRegistryBackend({
                loginServer,
                dir: path.join(options.dir, "registries", loginServer),
                rootCertFile: signingKey.rootCertFile,
            });
            backends.set(loginServer, backend);
            const proxy = registryProxy(backend);
            options.face.route(loginServer, (request) => {
                const p = request.url.pathname;
                if (p.startsWith("/oauth2/")) return tokenService.handler(request);
                if (p === "/v2" || p.startsWith("/v2/")) return proxy(request);
                return { status: 404, body: { errors: [{ code: "NOT_FOUND", message: "404 page not found" }] } };
            });
        }
    } catch (error) {
        await Promise.all([...backends.values()].map((backend) => backend.stop()));
        throw error;
    }

    const home = path.join(options.dir, "skopeo-home");
    fs.mkdirSync(home, { recursive: true });
    const registriesConf = path.join(options.dir, "registries.conf");
    fs.writeFileSync(registriesConf, "");
    const policy = path.join(options.dir, "policy.json");
    fs.writeFileSync(policy, JSON.stringify({ default: [{ type: "insecureAcceptAnything" }] }));
    const env: NodeJS.ProcessEnv = {
        PATH: process.env.PATH,
        HOME: home,
        TMPDIR: options.dir,
        CONTAINERS_REGISTRIES_CONF: registriesConf,
        ...options.face.env(),
    };
    let files = 0;
    const writeAuthFile = (text: string): string => {
        const file = path.join(options.dir, "auth", `auth-${++files}.json`);
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, text, { mode: 0o600 });
        return file;
    };
    const skopeo = (args: readonly string[]): Promise<SkopeoResult> => run("skopeo", ["--policy", policy, ...args], env, SKOPEO_TIMEOUT_MS);
    const labelOf = (loginServer: string, repository: string, tag = "v1"): string => `${loginServer}/${repository}:${tag}`;

    return {
        tokenService,
        signingKey,
        backends,
        adminUser: (loginServer) => tokenService.adminUser(loginServer),
        labelOf,
        async push(loginServer, repository, tag = "v1") {
            const admin = tokenService.adminUser(loginServer);
            const layout = path.join(options.dir, "images", `${loginServer}-${repository.replace(/\//g, "_")}-${tag}`);
            writeOciImage(layout, tag, labelOf(loginServer, repository, tag));
            const auth = Buffer.from(`${admin.username}:${admin.password}`).toString("base64");
            const authFile = writeAuthFile(JSON.stringify({ auths: { [loginServer]: { auth } } }));
            const result = await skopeo([
                "copy",
                "--dest-authfile",
                authFile,
                `oci:${layout}:${tag}`,
                `docker://${loginServer}/${repository}:${tag}`,
            ]);
            fs.rmSync(authFile, { force: true });
            if (result.exitCode !== 0) {
                throw new Error(
                    `pushing ${loginServer}/${repository}:${tag} failed:\n${result.stderr}\nregistry:\n${backends.get(loginServer)?.output() ?? ""}`,
                );
            }
        },
        async pull(image, authFile) {
            const out = fs.mkdtempSync(path.join(options.dir, "pulled-"));
            try {
                const result = await skopeo(["copy", "--src-authfile", authFile, `docker://${image}`, `oci:${out}:pulled`]);
                if (result.exitCode !== 0) return { ...result, refusedBy: refusalOf(result.stderr) };
                return { ...result, label: labelInLayout(out) };
            } finally {
                fs.rmSync(out, { recursive: true, force: true });
            }
        },
        writeAuthFile,
        skopeo,
        async stop() {
            await Promise.all([...backends.values()].map((backend) => backend.stop()));
        },
    };
}

/** Who refused a pull, from containers/image's messages (v5.22, skopeo 1.9: `docker/errors.go`, `docker_client.go`). */
function refusalOf(stderr: string): PullResult["refusedBy"] {
    // A 401 from the realm: "unable to retrieve auth token: invalid username/password: ...".
    if (/unable to retrieve auth token|invalid username\/password/.test(stderr)) return "token service";
    if (/unauthorized|denied|authentication required/i.test(stderr)) return "registry";
    return undefined;
}

/** The `IMAGE_LABEL` of the one image in an OCI layout. */
function labelInLayout(dir: string): string | undefined {
    const blob = (digest: string): Buffer => fs.readFileSync(path.join(dir, "blobs", ...digest.split(":")));
    const index = JSON.parse(fs.readFileSync(path.join(dir, "index.json"), "utf8")) as { manifests: { digest: string }[] };
    const manifest = JSON.parse(blob(index.manifests[0].digest).toString("utf8")) as {
        config: { digest: string };
        layers: { digest: string }[];
    };
    // Every layer was fetched and stored: read them, as a runtime would unpack them.
    for (const layer of manifest.layers) blob(layer.digest);
    const config = JSON.parse(blob(manifest.config.digest).toString("utf8")) as { config?: { Labels?: Record<string, string> } };
    return config.config?.Labels?.[IMAGE_LABEL];
}

/** One regular file in a ustar archive: the smallest layer a registry client takes. */
function tarWithOneFile(name: string, content: Buffer): Buffer {
    const header = Buffer.alloc(512);
    header.write(name, 0, 100, "utf8");
    header.write("0000644\0", 100);
    header.write("0000000\0", 108);
    header.write("0000000\0", 116);
    header.write(`${content.length.toString(8).padStart(11, "0")}\0`, 124);
    header.write("00000000000\0", 136);
    // The checksum is summed with its own field read as spaces.
    header.write("        ", 148);
    header.write("0", 156);
    header.write("ustar\0", 257);
    header.write("00", 263);
    const checksum = header.reduce((sum, byte) => sum + byte, 0);
    header.write(`${checksum.toString(8).padStart(6, "0")}\0 `, 148);
    const body = Buffer.alloc(Math.ceil(content.length / 512) * 512);
    content.copy(body);
    return Buffer.concat([header, body, Buffer.alloc(1024)]);
}

/** Writes an OCI image layout at `dir` holding one single-layer image tagged `tag`, labelled `label`. */
export function writeOciImage(dir: string, tag: string, label: string): void {
    const blobs = path.join(dir, "blobs", "sha256");
    fs.mkdirSync(blobs, { recursive: true });
    const put = (content: Buffer, mediaType: string): { mediaType: string; digest: string; size: number } => {
        const hex = createHash("sha256").update(content).digest("hex");
        fs.writeFileSync(path.join(blobs, hex), content);
        return { mediaType, digest: `sha256:${hex}`, size: content.length };
    };
    const layer = put(tarWithOneFile("hello.txt", Buffer.from(`hello from ${label}\n`)), "application/vnd.oci.image.layer.v1.tar");
    const config = put(
        Buffer.from(
            JSON.stringify({
                architecture: "amd64",
                os: "linux",
                config: { Labels: { [IMAGE_LABEL]: label } },
                rootfs: { type: "layers", diff_ids: [layer.digest] },
            }),
        ),
        "application/vnd.oci.image.config.v1+json",
    );
    const manifest = put(
        Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config, layers: [layer] })),
        "application/vnd.oci.image.manifest.v1+json",
    );
    fs.writeFileSync(path.join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
    fs.writeFileSync(
        path.join(dir, "index.json"),
        JSON.stringify({ schemaVersion: 2, manifests: [{ ...manifest, annotations: { "org.opencontainers.image.ref.name": tag } }] }),
    );
}

function run(binary: string, args: readonly string[], env: NodeJS.ProcessEnv, timeout: number): Promise<SkopeoResult> {
    return new Promise((resolve, reject) => {
        execFile(binary, args, { env, timeout, encoding: "utf8" }, (error, stdout, stderr) => {
            if (error === null) resolve({ exitCode: 0, stdout, stderr });
            else if (typeof error.code === "number") resolve({ exitCode: error.code, stdout, stderr });
            else reject(new Error(`${binary} ${args.join(" ")} did not run to an exit code: ${error.message}\n${stderr}`));
        });
    });
}

/** Whether an executable `binary` is on `PATH`. */
export function onPath(binary: string): boolean {
    return (process.env.PATH ?? "").split(path.delimiter).some((dir) => {
        try {
            fs.accessSync(path.join(dir, binary), fs.constants.X_OK);
            return true;
        } catch {
            return false;
        }
    });
}
