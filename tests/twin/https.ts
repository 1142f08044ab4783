/**
 * The Azure twin's HTTPS face: an HTTP CONNECT proxy on 127.0.0.1 that terminates TLS, with a certificate from the run's
 * own CA (`ca.ts`), for the public hosts the whole program reaches — `login.microsoftonline.com` (Entra, `entra.ts`),
 * `management.azure.com` (ARM, `arm.ts`) and `<registry>.azurecr.io` for the registries in the store — and refuses every
 * other host. The program runs unmodified: it is given `HTTPS_PROXY` and a CA file, no endpoint.
 *
 * What it imitates: the public endpoints themselves, reached the way a corporate proxy reaches them (RFC 9110 §9.3.6
 * CONNECT; a refused tunnel is an HTTP error status on the CONNECT, here 403).
 *
 * How clients reach it (read in the installed sources, `@azure/core-rest-pipeline` 1.25.1 and
 * `@typespec/ts-http-runtime` 0.3.x `dist/commonjs/policies/proxyPolicy.js`, `@azure/identity` 4.14
 * `dist/commonjs/msal/nodeFlows/msalClient.js`, `https-proxy-agent` 7 `dist/index.js`):
 * - `createPipelineFromOptions` adds `proxyPolicy` on Node for every client; with no `proxyOptions` it takes
 *   `HTTPS_PROXY`, then `ALL_PROXY`, then `HTTP_PROXY` (upper case first, then lower case) and routes `https:` requests
 *   through an `HttpsProxyAgent` (CONNECT, then TLS to the target with the process's default CAs: so
 *   `NODE_EXTRA_CA_CERTS` is what makes it trust this face; a client's `tlsOptions` are ignored behind a proxy).
 * - `@azure/identity` hands MSAL an `IdentityClient` (a core-client `ServiceClient`) as its `networkClient`, so MSAL's
 *   instance discovery, OpenID discovery and token requests take the same pipeline and the same proxy as ARM's.
 * - Loopback is NOT exempt by itself: `NO_PROXY` is read once per process (at the first `proxyPolicy`), split on commas
 *   and matched against the URL's host name only (exact name, or a `.suffix`; no ports, no CIDR). Without
 *   `NO_PROXY=127.0.0.1,localhost` an SDK call to a fake on `https://127.0.0.1:<port>` would go to this proxy, which
 *   refuses it. Go's `net/http` (ESO, skopeo) never proxies loopback and reads `SSL_CERT_FILE` instead of
 *   `NODE_EXTRA_CA_CERTS`. `NODE_EXTRA_CA_CERTS` is read at process start only: set it on the child process.
 * - A non-200 answer to CONNECT reaches the caller as that HTTP response (https-proxy-agent replays it), so a refused
 *   host shows up as a 403 response, not a network error.
 *
 * Host routing is a table (`face.route(host, handler)`); a later route wins, so another face (ACR's token service) can
 * take over `*.azurecr.io` without editing this file (`registry.ts` does, for ACR's token service and the registry).
 * Every request is recorded as method, host, path, status, the Azure/Entra/registry error code and the handler's
 * `decision` (ACR's grants and refusals): never a header, a query, a body, a secret or a token.
 */
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import type { IncomingHttpHeaders } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import * as tls from "node:tls";
import { randomUUID, type JsonWebKey } from "node:crypto";
import { armHandler, ARM_HOST } from "./arm";
import { createTestCa, type TestCa } from "./ca";
import { entraHandler, ENTRA_HOST, TwinTokenIssuer } from "./entra";
import type { TwinStore } from "./store";

/** Which hosts a route serves: an exact host name, a pattern, or a test. Case-insensitive. */
export type HostPattern = string | RegExp | ((host: string) => boolean);

/** A request as a handler sees it, TLS removed. */
export interface TwinRequest {
    /** The host of the tunnel (the CONNECT target), lower case. */
    readonly host: string;
    readonly method: string;
    /** `https://<host><path and query>`. */
    readonly url: URL;
    readonly headers: IncomingHttpHeaders;
    readonly body: Buffer;
}

/** A handler's answer. `body`: a Buffer or string is sent as is, anything else as JSON. */
export interface TwinResponse {
    readonly status: number;
    readonly headers?: Readonly<Record<string, string>>;
    readonly body?: unknown;
    /** Why the face answered so (a grant, a refusal's reason), for the request log: never a secret or a token. */
    readonly decision?: string;
}

/** Answers requests for the hosts of its route. */
export type TwinHandler = (request: TwinRequest) => TwinResponse | Promise<TwinResponse>;

/** What the face records of a request: nothing secret. */
export interface TwinRequestRecord {
    readonly seq: number;
    readonly at: string;
    /**
     * `CONNECT` for a tunnel (accepted: 200, refused: 403), `TLS` for a failed handshake inside an accepted tunnel
     * (status 0; usually a client that does not trust the run's CA), else the HTTP method inside the tunnel.
     */
    readonly method: string;
    readonly host: string;
    /** The path without the query (`""` for CONNECT). */
    readonly path: string;
    readonly status: number;
    /** Azure's error code (`InvalidAuthenticationTokenTenant`) or Entra's (`AADSTS7000215`), when the answer had one. */
    readonly error?: string;
    /** The handler's `decision`, when it gave one (ACR's token service says what it granted or why it refused). */
    readonly decision?: string;
}

/** How to start the face. */
export interface TwinFaceOptions {
    readonly store: TwinStore;
    /** Where the CA and the host certificates go (created if missing). */
    readonly dir: string;
    /** PEM CA of the test's Kubernetes API server, trusted when Entra fetches a federated issuer's keys. */
    readonly kubernetesCa?: string;
    /** Replaces how Entra finds a federated issuer's signing keys (see `entra.ts`). */
    readonly issuerKeys?: (issuer: string) => Promise<readonly JsonWebKey[]>;
}

/** The running face. */
export interface TwinFace {
    /** `http://127.0.0.1:<port>`, for `HTTPS_PROXY`. */
    readonly proxyUrl: string;
    /** The run's CA certificate file, for `NODE_EXTRA_CA_CERTS` and `SSL_CERT_FILE`. */
    readonly caFile: string;
    /** The run's CA: a test can make more host certificates from it (`ca.leaf("127.0.0.1")`). */
    readonly ca: TestCa;
    /** The key Entra's tokens are signed with; ARM (and ACR) check tokens with it. */
    readonly tokens: TwinTokenIssuer;
    /** Every request so far, in arrival order. */
    readonly requests: readonly TwinRequestRecord[];
    /** What a client process needs: `HTTPS_PROXY`, `NODE_EXTRA_CA_CERTS`, `SSL_CERT_FILE`, `NO_PROXY` for loopback. */
    env(): Record<string, string>;
    /** Serves `host` with `handler`; routes added later win over earlier ones. */
    route(host: HostPattern, handler: TwinHandler): void;
    /** Closes the proxy and every tunnel. */
    stop(): Promise<void>;
}

const MAX_BODY_BYTES = 1024 * 1024;
const LOOPBACK = "127.0.0.1,localhost,::1";

/** Starts the face: the CA, the proxy on a free port of 127.0.0.1, and the Entra, ARM and registry routes. */
export async function startTwinFace(options: TwinFaceOptions): Promise<TwinFace> {
    fs.mkdirSync(options.dir, { recursive: true });
    const ca = createTestCa(options.dir);
    const tokens = new TwinTokenIssuer();
    const routes: { readonly matches: (host: string) => boolean; readonly handler: TwinHandler }[] = [];
    const requests: TwinRequestRecord[] = [];
    const sockets = new Set<Socket>();
    const tunnelHost = new WeakMap<Socket, string>();
    const contexts = new Map<string, Promise<tls.SecureContext>>();

    const record = (entry: Omit<TwinRequestRecord, "seq" | "at">): void => {
        requests.push({ seq: requests.length + 1, at: new Date().toISOString(), ...entry });
    };
    const handlerFor = (host: string): TwinHandler | undefined => {
        for (let i = routes.length - 1; i >= 0; i--) if (routes[i].matches(host)) return routes[i].handler;
        return undefined;
    };
    const route = (pattern: HostPattern, handler: TwinHandler): void => {
        routes.push({ matches: hostMatcher(pattern), handler });
    };
    const contextFor = (host: string): Promise<tls.SecureContext> => {
        let context = contexts.get(host);
        if (context === undefined) {
            context = ca.leaf(host).then((leaf) => tls.createSecureContext(leaf));
            context.catch(() => contexts.delete(host));
            contexts.set(host, context);
        }
        return context;
    };

    // The servers behind the tunnels: one HTTP/1.1 server fed with the TLS sockets.
    const inner = http.createServer((req, res) => {
        const host = tunnelHost.get(req.socket) ?? "";
        serve(host, req, res, handlerFor(host), record).catch(() => res.destroy());
    });
    inner.keepAliveTimeout = 5000;

    const proxy = http.createServer((req, res) => {
        // A plain proxy request (`GET http://host/...`) or a direct hit: this face only tunnels.
        const target = safeUrl(req.url ?? "/");
        record({ method: req.method ?? "GET", host: target?.hostname ?? "", path: target?.pathname ?? "", status: 403 });
        res.writeHead(403, { "content-type": "text/plain", connection: "close" }).end("The Azure twin's proxy only tunnels (CONNECT).\n");
    });
    proxy.on("connection", (socket: Socket) => {
        sockets.add(socket);
        socket.once("close", () => sockets.delete(socket));
    });
    proxy.on("connect", (req: http.IncomingMessage, socket: Socket, head: Buffer) => {
        const [rawHost, port] = splitHostPort(req.url ?? "");
        const host = rawHost.toLowerCase();
        const refuse = (status: number, reason: string): void => {
            record({ method: "CONNECT", host, path: "", status });
            const text = `${reason}\n`;
            socket.end(
                `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`,
            );
        };
        if (port !== "443" || handlerFor(host) === undefined) {
            return refuse(403, `The Azure twin does not serve ${req.url ?? ""}.`);
        }
        socket.on("error", () => socket.destroy());
        contextFor(host).then(
            (secureContext) => {
                if (socket.destroyed) return;
                record({ method: "CONNECT", host, path: "", status: 200 });
                socket.write("HTTP/1.1 200 Connection Established\r\n\r\n");
                if (head.length > 0) socket.unshift(head);
                const secure = new tls.TLSSocket(socket, { isServer: true, secureContext, ALPNProtocols: ["http/1.1"] });
                let handshaken = false;
                let failure: string | undefined;
                secure.once("secure", () => (handshaken = true));
                secure.on("error", (error: NodeJS.ErrnoException) => {
                    failure ??= error.code ?? error.message;
                    secure.destroy();
                });
                // A client that does not trust the run's CA (no NODE_EXTRA_CA_CERTS / SSL_CERT_FILE) hangs up here.
                secure.once("close", () => {
                    if (!handshaken) record({ method: "TLS", host, path: "", status: 0, error: failure ?? "handshake not completed" });
                });
                sockets.add(secure);
                secure.once("close", () => sockets.delete(secure));
                tunnelHost.set(secure, host);
                inner.emit("connection", secure);
            },
            (error: unknown) => refuse(502, `No certificate for ${host}: ${error instanceof Error ? error.message : String(error)}`),
        );
    });
    await new Promise<void>((resolve, reject) => {
        proxy.once("error", reject);
        proxy.listen(0, "127.0.0.1", () => {
            proxy.off("error", reject);
            resolve();
        });
    });
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;

    route(ENTRA_HOST, entraHandler({ store: options.store, tokens, issuerCa: options.kubernetesCa, issuerKeys: options.issuerKeys }));
    route(ARM_HOST, armHandler({ store: options.store, tokens }));
    route(
        (host) => host.endsWith(".azurecr.io") && Object.values(options.store.read().registries).some((r) => r.loginServer === host),
        registryPlaceholder,
    );

    return {
        proxyUrl,
        caFile: ca.caFile,
        ca,
        tokens,
        requests,
        env: () => ({
            HTTPS_PROXY: proxyUrl,
            https_proxy: proxyUrl,
            NO_PROXY: LOOPBACK,
            no_proxy: LOOPBACK,
            NODE_EXTRA_CA_CERTS: ca.caFile,
            SSL_CERT_FILE: ca.caFile,
        }),
        route,
        stop: async () => {
            const closed = new Promise<void>((resolve) => proxy.close(() => resolve()));
            for (const socket of sockets) socket.destroy();
            inner.closeAllConnections();
            proxy.closeAllConnections();
            await closed;
        },
    };
}

/** What `requestThroughFace` got back. */
export interface FaceAnswer {
    readonly status: number;
    readonly headers: IncomingHttpHeaders;
    readonly body: Buffer;
}

/**
 * One HTTPS request through the face as a proxied client sends it (CONNECT to the host's port 443, TLS checked against
 * the run's CA only, then the request), for tests that speak a protocol by hand (ACR's `/oauth2/exchange`, as ESO
 * does). A refused CONNECT rejects with its status.
 */
export async function requestThroughFace(
    face: Pick<TwinFace, "proxyUrl" | "ca">,
    url: string,
    init: { readonly method?: string; readonly headers?: Readonly<Record<string, string>>; readonly body?: string | Buffer } = {},
): Promise<FaceAnswer> {
    const proxy = new URL(face.proxyUrl);
    const target = new URL(url);
    const tunnel = await new Promise<Socket>((resolve, reject) => {
        const connect = http.request({ host: proxy.hostname, port: proxy.port, method: "CONNECT", path: `${target.hostname}:443` });
        connect.once("connect", (response: http.IncomingMessage, socket: Socket) => {
            if (response.statusCode === 200) return resolve(socket);
            socket.destroy();
            reject(new Error(`CONNECT ${target.hostname}:443 answered ${response.statusCode}`));
        });
        connect.once("error", reject);
        connect.end();
    });
    return new Promise((resolve, reject) => {
        const request = https.request(
            {
                host: target.hostname,
                path: `${target.pathname}${target.search}`,
                method: init.method ?? "GET",
                headers: init.headers,
                // No agent: the request goes over the tunnel's TLS socket, never a connection of its own.
                createConnection: () => tls.connect({ socket: tunnel, servername: target.hostname, ca: face.ca.caPem }),
                timeout: 10_000,
            },
            (response) => {
                const chunks: Buffer[] = [];
                response.on("data", (chunk: Buffer) => chunks.push(chunk));
                response.on("end", () => {
                    tunnel.destroy();
                    resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) });
                });
                response.on("error", reject);
            },
        );
        request.on("timeout", () => request.destroy(new Error(`${init.method ?? "GET"} ${url}: no answer in 10 s`)));
        request.on("error", (error) => {
            tunnel.destroy();
            reject(error);
        });
        request.end(init.body);
    });
}

/**
 * What a registry answers until ACR's token service is added: `/v2/` asks for a bearer token as ACR does (distribution's
 * token auth: `Bearer realm="https://<r>/oauth2/token",service="<r>"`), everything else is 404.
 */
const registryPlaceholder: TwinHandler = (request) => {
    if (request.url.pathname === "/v2/" || request.url.pathname === "/v2") {
        return {
            status: 401,
            headers: {
                "www-authenticate": `Bearer realm="https://${request.host}/oauth2/token",service="${request.host}"`,
                "docker-distribution-api-version": "registry/2.0",
            },
            body: {
                errors: [
                    {
                        code: "UNAUTHORIZED",
                        message: "authentication required, visit https://aka.ms/acr/authorization for more information.",
                        detail: null,
                    },
                ],
            },
        };
    }
    return {
        status: 404,
        body: { errors: [{ code: "NOT_FOUND", message: `The Azure twin does not serve ${request.url.pathname} yet.`, detail: null }] },
    };
};

async function serve(
    host: string,
    req: http.IncomingMessage,
    res: http.ServerResponse,
    handler: TwinHandler | undefined,
    record: (entry: Omit<TwinRequestRecord, "seq" | "at">) => void,
): Promise<void> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > MAX_BODY_BYTES) {
            record({ method: req.method ?? "GET", host, path: "", status: 413 });
            res.writeHead(413, { connection: "close" }).end();
            return;
        }
        chunks.push(chunk);
    }
    const url = new URL(req.url ?? "/", `https://${host}`);
    const method = (req.method ?? "GET").toUpperCase();
    let response: TwinResponse;
    if (handler === undefined) {
        response = { status: 404, body: { error: { code: "NotFound", message: `The Azure twin no longer serves ${host}.` } } };
    } else {
        try {
            response = await handler({ host, method, url, headers: req.headers, body: Buffer.concat(chunks) });
        } catch (error) {
            response = {
                status: 500,
                body: { error: { code: "TwinInternalError", message: error instanceof Error ? error.message : String(error) } },
            };
        }
    }
    const error = errorCodeOf(response.body);
    record({
        method,
        host,
        path: url.pathname,
        status: response.status,
        ...(error !== undefined ? { error } : {}),
        ...(response.decision !== undefined ? { decision: response.decision } : {}),
    });
    send(res, response, method === "HEAD");
}

function send(res: http.ServerResponse, response: TwinResponse, head = false): void {
    const headers: Record<string, string> = { "x-ms-request-id": randomUUID(), ...response.headers };
    let payload: Buffer | undefined;
    if (response.body !== undefined && response.status !== 204) {
        if (Buffer.isBuffer(response.body) || typeof response.body === "string") {
            payload = Buffer.from(response.body);
            headers["content-type"] ??= "text/plain; charset=utf-8";
        } else {
            payload = Buffer.from(JSON.stringify(response.body));
            headers["content-type"] ??= "application/json; charset=utf-8";
        }
    }
    // A HEAD answer has no body but tells the size of the GET's (a registry's blob or manifest): keep what the handler
    // said.
    if (!(head && payload === undefined && response.headers?.["content-length"] !== undefined)) {
        headers["content-length"] = String(payload?.length ?? 0);
    }
    res.writeHead(response.status, headers);
    res.end(payload);
}

/** The error code of an Entra, ARM or registry error body. */
function errorCodeOf(body: unknown): string | undefined {
    if (typeof body !== "object" || body === null || Buffer.isBuffer(body)) return undefined;
    const shaped = body as { error_codes?: unknown; error?: unknown; errors?: unknown };
    if (Array.isArray(shaped.error_codes) && shaped.error_codes.length > 0) return `AADSTS${String(shaped.error_codes[0])}`;
    if (typeof shaped.error === "object" && shaped.error !== null && typeof (shaped.error as { code?: unknown }).code === "string") {
        return (shaped.error as { code: string }).code;
    }
    if (typeof shaped.error === "string") return shaped.error;
    if (Array.isArray(shaped.errors) && typeof (shaped.errors[0] as { code?: unknown } | undefined)?.code === "string") {
        return (shaped.errors[0] as { code: string }).code;
    }
    return undefined;
}

function hostMatcher(pattern: HostPattern): (host: string) => boolean {
    if (typeof pattern === "string") {
        const wanted = pattern.toLowerCase();
        return (host) => host === wanted;
    }
    if (pattern instanceof RegExp) return (host) => pattern.test(host);
    return pattern;
}

function splitHostPort(authority: string): [string, string] {
    const bracketed = /^\[([^\]]+)\]:(\d+)$/.exec(authority);
    if (bracketed) return [bracketed[1], bracketed[2]];
    const colon = authority.lastIndexOf(":");
    return colon < 0 ? [authority, ""] : [authority.slice(0, colon), authority.slice(colon + 1)];
}

function safeUrl(text: string): URL | undefined {
    try {
        return new URL(text, "http://unknown");
    } catch {
        return undefined;
    }
}
