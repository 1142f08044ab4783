/**
 * A scriptable fake of the few Azure Resource Manager endpoints the AKS credential reset uses,
 * served over TLS on 127.0.0.1 (the SDK's bearer-token policy refuses plain http). After
 * {@link FakeArmServer.actAsAuthority} it is also the Entra sign-in authority MSAL talks to, so a
 * real `ClientSecretCredential` with `authorityHost` set to the fake gets its token here.
 *
 * Each route answers from its own queue of scripted responses, then from an optional fallback;
 * anything unscripted gets a 400 and is listed in {@link FakeArmServer.unscripted} so a test can
 * fail on it. Every request is recorded.
 */
import * as fs from "node:fs";
import * as https from "node:https";
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import * as tls from "node:tls";
import type { AccessToken, GetTokenOptions, TokenCredential } from "@azure/core-auth";

/** The routes the fake understands. */
export type FakeArmRoute =
    /** GET .../managedClusters/{name} */
    | "getCluster"
    /** POST .../managedClusters/{name}/resetServicePrincipalProfile */
    | "resetServicePrincipalProfile"
    /** GET .../locations/{location}/operations/{id} (the Azure-AsyncOperation URL) */
    | "operationStatus"
    /** GET .../locations/{location}/operationresults/{id} (the Location URL) */
    | "operationResult"
    /** GET /{tenant}/v2.0/.well-known/openid-configuration (MSAL's endpoint discovery) */
    | "openidConfiguration"
    /** POST /{tenant}/oauth2/v2.0/token (MSAL's token request) */
    | "token";

/** One scripted answer. `body` is sent as JSON unless it is undefined. */
export interface FakeArmResponse {
    readonly status: number;
    readonly headers?: Readonly<Record<string, string>>;
    readonly body?: unknown;
    /** Close the connection without answering (the client sees ECONNRESET); the rest is ignored. */
    readonly dropConnection?: boolean;
    /** Answer only after this many milliseconds (a slow Azure, or one still answering when the client gives up). */
    readonly delayMs?: number;
}

/** A network failure: the connection is closed before any response. */
export const DROPPED_CONNECTION: FakeArmResponse = Object.freeze({ status: 0, dropConnection: true });

/** What the fake saw. */
export interface RecordedRequest {
    readonly route: FakeArmRoute | "unmatched";
    readonly method: string;
    readonly path: string;
    /** The `api-version` query parameter, or null when absent. */
    readonly apiVersion: string | null;
    readonly headers: IncomingHttpHeaders;
    /** Parsed JSON body, the fields of a form body, the raw text otherwise, or undefined when empty. */
    readonly body: unknown;
    /** `Date.now()` when the request was fully read. */
    readonly receivedAt: number;
}

/** A token request as MSAL sent it (client credentials flow). */
export interface TokenRequest {
    /** Tenant segment of the token URL. */
    readonly tenant: string;
    readonly grantType?: string;
    readonly clientId?: string;
    readonly clientSecret?: string;
    readonly scope?: string;
}

/** PEM certificate and key the fake serves. */
export interface TlsFixture {
    readonly cert: string;
    readonly key: string;
}

const MAX_BODY_BYTES = 1024 * 1024;
// A runaway retry loop must end in a failing test, not a hung one.
const MAX_REQUESTS = 2000;
const STOP_GRACE_MS = 2000;

const FIXTURE_DIR = path.join("tests", "fixtures");
const CERT_FILE = "fake-arm-cert.pem";
const KEY_FILE = "fake-arm-key.pem";

/**
 * Loads the test-only certificate and key from `tests/fixtures`, looking upwards from both the
 * compiled test's directory and the working directory, so it works from `bin/tests` in the repo
 * and from an out-of-tree build.
 */
export function loadTlsFixture(): TlsFixture {
    const tried: string[] = [];
    for (const start of [__dirname, process.cwd()]) {
        for (let dir = path.resolve(start); ; dir = path.dirname(dir)) {
            const candidate = path.join(dir, FIXTURE_DIR);
            tried.push(candidate);
            if (fs.existsSync(path.join(candidate, CERT_FILE)) && fs.existsSync(path.join(candidate, KEY_FILE))) {
                return {
                    cert: fs.readFileSync(path.join(candidate, CERT_FILE), "utf8"),
                    key: fs.readFileSync(path.join(candidate, KEY_FILE), "utf8"),
                };
            }
            if (path.dirname(dir) === dir) break;
        }
    }
    throw new Error(`fake ARM TLS fixture not found; looked in:\n${tried.join("\n")}`);
}

/**
 * Makes this process trust `cert` for outgoing TLS (in addition to the usual CAs), returning a
 * function that restores the previous trust store. The SDK's node HTTP client builds its agents
 * without a `ca`, so they use this default store. Needs Node >= 22.19 / 24.5.
 */
export function trustCertificate(cert: string): () => void {
    if (typeof tls.setDefaultCACertificates !== "function" || typeof tls.getCACertificates !== "function") {
        throw new Error(
            `tls.setDefaultCACertificates is missing in Node ${process.version}; the fake ARM tests need Node >= 22.19 or >= 24.5`,
        );
    }
    const previous = tls.getCACertificates("default");
    tls.setDefaultCACertificates([...previous, cert]);
    return () => tls.setDefaultCACertificates(previous);
}

/** A fake ARM server listening on 127.0.0.1 on a random port. */
export class FakeArmServer {
    /** Every request, in arrival order. */
    readonly requests: RecordedRequest[] = [];
    /** Requests that had no scripted response (answered 400). */
    readonly unscripted: RecordedRequest[] = [];

    private readonly queues = new Map<FakeArmRoute, FakeArmResponse[]>();
    private readonly fallbacks = new Map<FakeArmRoute, FakeArmResponse>();
    /** Access token the authority routes hand out, once {@link actAsAuthority} is called. */
    private authorityToken?: string;
    private readonly server: https.Server;
    private port = 0;
    /** Timers of delayed answers, cleared on stop. */
    private readonly delayed = new Set<NodeJS.Timeout>();

    private constructor(fixture: TlsFixture) {
        this.server = https.createServer({ cert: fixture.cert, key: fixture.key }, (req, res) => this.handle(req, res));
        this.server.headersTimeout = 5000;
        this.server.requestTimeout = 10_000;
        this.server.keepAliveTimeout = 1000;
    }

    /** Starts a server on 127.0.0.1 with a random free port. */
    static async start(fixture: TlsFixture = loadTlsFixture()): Promise<FakeArmServer> {
        const fake = new FakeArmServer(fixture);
        await new Promise<void>((resolve, reject) => {
            fake.server.once("error", reject);
            fake.server.listen(0, "127.0.0.1", () => {
                fake.server.off("error", reject);
                resolve();
            });
        });
        fake.port = (fake.server.address() as AddressInfo).port;
        return fake;
    }

    /** Base URL to use as the ARM endpoint, e.g. `https://127.0.0.1:43123`. */
    get endpoint(): string {
        return `https://127.0.0.1:${this.port}`;
    }

    /** Appends responses to a route's queue; each request takes one. */
    enqueue(route: FakeArmRoute, ...responses: FakeArmResponse[]): this {
        const queue = this.queues.get(route) ?? [];
        queue.push(...responses);
        this.queues.set(route, queue);
        return this;
    }

    /** Answer used for a route once its queue is empty (e.g. an operation that never finishes). */
    setFallback(route: FakeArmRoute, response: FakeArmResponse): this {
        this.fallbacks.set(route, response);
        return this;
    }

    /**
     * Answers MSAL's endpoint discovery and token requests for any tenant (after anything queued on those
     * routes), so this server can be the `authorityHost` of a real credential. Needs `disableInstanceDiscovery`
     * on the credential: instance discovery would ask the public cloud about this authority.
     */
    actAsAuthority(accessToken = "fake-arm-access-token"): this {
        this.authorityToken = accessToken;
        return this;
    }

    /** Token requests received, with their form fields. */
    tokenRequests(): TokenRequest[] {
        return this.requestsFor("token").map((request) => {
            const form = (typeof request.body === "object" && request.body !== null ? request.body : {}) as Record<
                string,
                string | undefined
            >;
            return {
                tenant: request.path.split("/")[1] ?? "",
                grantType: form.grant_type,
                clientId: form.client_id,
                clientSecret: form.client_secret,
                scope: form.scope,
            };
        });
    }

    /** Recorded requests of one route. */
    requestsFor(route: FakeArmRoute): RecordedRequest[] {
        return this.requests.filter((r) => r.route === route);
    }

    /** Bodies of every reset request, in arrival order. */
    resetBodies(): unknown[] {
        return this.requestsFor("resetServicePrincipalProfile").map((request) => request.body);
    }

    /**
     * Scripts a reset that Azure accepts (202 with both polling headers, after any `before` answers), then
     * reports in progress once and succeeded.
     */
    acceptReset(subscriptionId: string, operationId: string, ...before: FakeArmResponse[]): this {
        return this.enqueue("resetServicePrincipalProfile", ...before, {
            status: 202,
            headers: {
                "azure-asyncoperation": this.asyncOperationUrl(subscriptionId, operationId),
                location: this.operationResultUrl(subscriptionId, operationId),
            },
        })
            .enqueue(
                "operationStatus",
                { status: 200, body: operationStatus("InProgress") },
                { status: 200, body: operationStatus("Succeeded") },
            )
            .enqueue("operationResult", { status: 200, body: {} });
    }

    /**
     * Scripts a reset that Azure accepts (202 with both polling headers) and whose operation then reports in
     * progress once and Failed with `error`, as AKS does when it validates the credentials after accepting them.
     */
    acceptThenFailReset(subscriptionId: string, operationId: string, error: { code: string; message: string }): this {
        return this.enqueue("resetServicePrincipalProfile", {
            status: 202,
            headers: {
                "azure-asyncoperation": this.asyncOperationUrl(subscriptionId, operationId),
                location: this.operationResultUrl(subscriptionId, operationId),
            },
        }).enqueue(
            "operationStatus",
            { status: 200, body: operationStatus("InProgress") },
            { status: 200, body: operationStatus("Failed", error) },
        );
    }

    /** An Azure-AsyncOperation URL on this server, shaped like AKS's. */
    asyncOperationUrl(subscriptionId: string, operationId: string, location = "westeurope"): string {
        return `${this.endpoint}/subscriptions/${subscriptionId}/providers/Microsoft.ContainerService/locations/${location}/operations/${operationId}?api-version=2016-03-30`;
    }

    /** A Location (operation result) URL on this server, shaped like AKS's. */
    operationResultUrl(subscriptionId: string, operationId: string, location = "westeurope"): string {
        return `${this.endpoint}/subscriptions/${subscriptionId}/providers/Microsoft.ContainerService/locations/${location}/operationresults/${operationId}?api-version=2016-03-30`;
    }

    /** Closes the server and every open connection (the SDK keeps connections alive). */
    async stop(): Promise<void> {
        for (const timer of this.delayed) clearTimeout(timer);
        this.delayed.clear();
        const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
        this.server.closeAllConnections();
        let timer: NodeJS.Timeout | undefined;
        const grace = new Promise<void>((resolve) => {
            timer = setTimeout(resolve, STOP_GRACE_MS);
        });
        await Promise.race([closed, grace]);
        clearTimeout(timer);
    }

    /** What Entra would answer on the authority routes, for the tenant in the path; undefined on the others. */
    private authorityAnswer(route: FakeArmRoute, pathname: string): FakeArmResponse | undefined {
        if (this.authorityToken === undefined) return undefined;
        const tenant = pathname.split("/")[1];
        const base = `${this.endpoint}/${tenant}`;
        switch (route) {
            case "openidConfiguration":
                // MSAL requires these four fields, and an issuer on the authority's own scheme, host and port.
                return {
                    status: 200,
                    body: {
                        issuer: `${base}/v2.0`,
                        authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
                        token_endpoint: `${base}/oauth2/v2.0/token`,
                        jwks_uri: `${base}/discovery/v2.0/keys`,
                    },
                };
            case "token":
                return {
                    status: 200,
                    body: { token_type: "Bearer", expires_in: 3600, ext_expires_in: 3600, access_token: this.authorityToken },
                };
            default:
                return undefined;
        }
    }

    private handle(req: IncomingMessage, res: ServerResponse): void {
        const chunks: Buffer[] = [];
        let size = 0;
        let tooLarge = false;
        req.on("data", (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_BODY_BYTES) tooLarge = true;
            else chunks.push(chunk);
        });
        req.on("end", () => {
            if (tooLarge) return send(res, { status: 413, body: armError("FakeArmBodyTooLarge", "request body over 1 MiB") });
            const url = new URL(req.url ?? "/", this.endpoint);
            const method = (req.method ?? "GET").toUpperCase();
            const route = matchRoute(method, url.pathname);
            const text = Buffer.concat(chunks).toString("utf8");
            const recorded: RecordedRequest = {
                route: route ?? "unmatched",
                method,
                path: url.pathname,
                apiVersion: url.searchParams.get("api-version"),
                headers: req.headers,
                body: parseBody(text, req.headers["content-type"]),
                receivedAt: Date.now(),
            };
            this.requests.push(recorded);
            if (this.requests.length > MAX_REQUESTS) {
                return send(res, { status: 400, body: armError("FakeArmTooManyRequests", `over ${MAX_REQUESTS} requests`) });
            }
            const scripted = route
                ? (this.queues.get(route)?.shift() ?? this.fallbacks.get(route) ?? this.authorityAnswer(route, url.pathname))
                : undefined;
            if (!scripted) {
                this.unscripted.push(recorded);
                return send(res, {
                    status: 400,
                    body: armError("FakeArmUnscripted", `no scripted response for ${method} ${url.pathname}`),
                });
            }
            if (scripted.delayMs === undefined) return send(res, scripted);
            const timer = setTimeout(() => {
                this.delayed.delete(timer);
                // The client may have given up and closed the connection meanwhile.
                if (!res.destroyed && !res.writableEnded) send(res, scripted);
            }, scripted.delayMs);
            this.delayed.add(timer);
        });
        req.on("error", () => res.destroy());
    }
}

const CLUSTER_PATH = /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.ContainerService\/managedClusters\/[^/]+$/i;
const RESET_PATH =
    /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.ContainerService\/managedClusters\/[^/]+\/resetServicePrincipalProfile$/i;
const OPERATION_PATH = /^\/subscriptions\/[^/]+\/providers\/Microsoft\.ContainerService\/locations\/[^/]+\/operations\/[^/]+$/i;
const RESULT_PATH = /^\/subscriptions\/[^/]+\/providers\/Microsoft\.ContainerService\/locations\/[^/]+\/operationresults\/[^/]+$/i;
const OPENID_CONFIGURATION_PATH = /^\/[^/]+\/v2\.0\/\.well-known\/openid-configuration$/;
const TOKEN_PATH = /^\/[^/]+\/oauth2\/v2\.0\/token$/;

function matchRoute(method: string, pathname: string): FakeArmRoute | undefined {
    if (method === "GET" && CLUSTER_PATH.test(pathname)) return "getCluster";
    if (method === "POST" && RESET_PATH.test(pathname)) return "resetServicePrincipalProfile";
    if (method === "GET" && OPERATION_PATH.test(pathname)) return "operationStatus";
    if (method === "GET" && RESULT_PATH.test(pathname)) return "operationResult";
    if (method === "GET" && OPENID_CONFIGURATION_PATH.test(pathname)) return "openidConfiguration";
    if (method === "POST" && TOKEN_PATH.test(pathname)) return "token";
    return undefined;
}

function parseBody(text: string, contentType: string | undefined): unknown {
    if (text === "") return undefined;
    if (contentType?.toLowerCase().startsWith("application/x-www-form-urlencoded")) {
        return Object.fromEntries(new URLSearchParams(text));
    }
    try {
        return JSON.parse(text);
    } catch {
        return text;
    }
}

function send(res: ServerResponse, response: FakeArmResponse): void {
    if (response.dropConnection) {
        res.socket?.destroy();
        return;
    }
    const headers: Record<string, string> = { "x-ms-request-id": "fake-arm", ...response.headers };
    let payload: string | undefined;
    if (response.body !== undefined && response.status !== 204) {
        payload = JSON.stringify(response.body);
        headers["content-type"] ??= "application/json; charset=utf-8";
    }
    res.writeHead(response.status, headers);
    res.end(payload);
}

/** ARM's error envelope. */
export function armError(code: string, message: string): { error: { code: string; message: string } } {
    return { error: { code, message } };
}

/** A managed cluster resource as ARM returns it. */
export function clusterResource(options: {
    subscriptionId: string;
    resourceGroupName: string;
    clusterName: string;
    clientId?: string;
    identity?: { type: "SystemAssigned" | "UserAssigned" | "None"; userAssignedIdentities?: Record<string, unknown> };
}): Record<string, unknown> {
    const { subscriptionId, resourceGroupName, clusterName, clientId, identity } = options;
    return {
        id: `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroupName}/providers/Microsoft.ContainerService/managedClusters/${clusterName}`,
        name: clusterName,
        type: "Microsoft.ContainerService/ManagedClusters",
        location: "westeurope",
        ...(identity ? { identity } : {}),
        properties: {
            provisioningState: "Succeeded",
            kubernetesVersion: "1.33.2",
            dnsPrefix: clusterName,
            ...(clientId !== undefined ? { servicePrincipalProfile: { clientId } } : {}),
        },
    };
}

/** A 200 answer to GET cluster for a service-principal cluster using `clientId` ("msi" for a managed identity). */
export function clusterResponse(subscriptionId: string, resourceGroupName: string, clusterName: string, clientId: string): FakeArmResponse {
    return { status: 200, body: clusterResource({ subscriptionId, resourceGroupName, clusterName, clientId }) };
}

/** A credential that always returns `token` and remembers the scopes it was asked for. */
export class StaticCredential implements TokenCredential {
    readonly scopes: string[][] = [];
    constructor(private readonly token = "test-token") {}
    async getToken(scopes: string | string[], _options?: GetTokenOptions): Promise<AccessToken> {
        this.scopes.push(Array.isArray(scopes) ? [...scopes] : [scopes]);
        return { token: this.token, expiresOnTimestamp: Date.now() + 3_600_000 };
    }
}

/** Body of an Azure-AsyncOperation status response. */
export function operationStatus(
    status: "InProgress" | "Succeeded" | "Failed" | "Canceled",
    error?: { code: string; message: string },
): Record<string, unknown> {
    return {
        id: "fake-operation",
        name: "fake-operation",
        status,
        startTime: "2026-01-01T00:00:00Z",
        ...(status === "InProgress" ? {} : { endTime: "2026-01-01T00:05:00Z" }),
        ...(error ? { error } : {}),
    };
}

/**
 * AKS's message for a client id it cannot find in the tenant, as reported for principals created moments before
 * (e.g. Azure/AKS#1092, Azure/azure-powershell#14196).
 */
export function notFoundInTenantMessage(clientId: string, tenantId: string): string {
    return `Service principal clientID: ${clientId} not found in Active Directory tenant ${tenantId}, Please see https://aka.ms/aks-sp-help for more details.`;
}

/**
 * AKS's message for credentials Entra ID refused, with Entra's inner error as AKS passes it on (e.g.
 * Azure/azure-cli#17358 for AADSTS7000215, Azure/azure-cli#9585 for AADSTS700016). `aadsts` picks Entra's code:
 * AADSTS7000215 (secret not known), AADSTS700016 (application not known), or any other to test that it is not
 * taken for replication.
 */
export function invalidCredentialsMessage(clientId: string, tenantId: string, aadsts: string): string {
    const descriptions: Record<string, { status: number; error: string; description: string }> = {
        AADSTS7000215: {
            status: 401,
            error: "invalid_client",
            description: `AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId}'.`,
        },
        AADSTS700016: {
            status: 400,
            error: "unauthorized_client",
            description: `AADSTS700016: Application with identifier '${clientId}' was not found in the directory '${tenantId}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
        },
    };
    const inner = descriptions[aadsts] ?? { status: 401, error: "invalid_client", description: `${aadsts}: The request was refused.` };
    const body = JSON.stringify({
        error: inner.error,
        error_description: `${inner.description}\r\nTrace ID: 00000000-0000-0000-0000-000000000001\r\nCorrelation ID: 00000000-0000-0000-0000-000000000002`,
        error_codes: [Number(aadsts.replace(/^AADSTS/, ""))],
    });
    return (
        "The credentials in ServicePrincipalProfile were invalid. Please see https://aka.ms/aks-sp-help for more details. " +
        `(Details: adal: Refresh request failed. Status Code = '${inner.status}'. Response body: ${body} ` +
        `Endpoint https://login.microsoftonline.com/${tenantId}/oauth2/token?api-version=1.0)`
    );
}

/** A refused reset request: `status` (default 400) with ARM's error envelope. */
export function refusedReset(code: string, message: string, status = 400): FakeArmResponse {
    return { status, body: armError(code, message) };
}
