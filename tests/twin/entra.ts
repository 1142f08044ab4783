/**
 * The Azure twin's Entra ID face: what MSAL (inside `@azure/identity`, and ESO's Go MSAL) asks of
 * `https://login.microsoftonline.com` to get an app-only token, answered from the twin's store.
 *
 * What it imitates, and where that was read:
 * - Instance discovery `GET /common/discovery/instance?api-version=1.1&authorization_endpoint=...` answering
 *   `tenant_discovery_endpoint` and the cloud's `metadata` aliases (MSAL's `CloudInstanceDiscoveryResponse`, msal-common
 *   `src/authority/Authority.ts`; Entra's own answer for the public cloud).
 * - OpenID discovery `GET /<tenant>/v2.0/.well-known/openid-configuration` (MSAL needs `authorization_endpoint`,
 *   `token_endpoint`, `issuer`, `jwks_uri`: msal-common `isOpenIdConfigResponse`); an unknown tenant is `400
 *   invalid_tenant` AADSTS90002.
 * - The client credentials grant `POST /<tenant>/oauth2/v2.0/token` (Microsoft identity platform docs, "OAuth 2.0 client
 *   credentials flow": `scope=<resource>/.default`, `client_secret`, or `client_assertion_type=urn:ietf:params:oauth:
 *   client-assertion-type:jwt-bearer` with `client_assertion`), its errors in Entra's JSON shape (`error`,
 *   `error_description` starting with the AADSTS code and ending with trace/correlation ids and a timestamp,
 *   `error_codes`, `timestamp`, `trace_id`, `correlation_id`, `error_uri`) and the codes of "Microsoft Entra
 *   authentication and authorization error codes": AADSTS90002 tenant not found, AADSTS700016 application not found in
 *   the directory (also a multitenant app not provisioned there), AADSTS7000229 no service principal in the app's home
 *   tenant, AADSTS7000215 invalid client secret, AADSTS7000222 expired client secret, AADSTS70021 / AADSTS700211 no
 *   matching federated identity record (subject+audience / issuer, matched case-sensitively: Entra "workload identity
 *   federation" docs), AADSTS700027 assertion signature, AADSTS700024 assertion time range, AADSTS50166 issuer
 *   metadata unreachable, AADSTS1002012 scope without `/.default`.
 * - Access tokens shaped as Entra's v1 tokens for ARM (`iss https://sts.windows.net/<tid>/`, `aud` = the scope's
 *   resource, `tid`, `appid`, `azp`, `oid` = the service principal in that tenant, `idtyp app`, `exp`; Microsoft identity
 *   platform "access token claims reference"), signed RS256 with a key made per run and published at
 *   `/<tenant>/discovery/v2.0/keys`.
 *
 * A service principal becomes usable after the store's `replicationDelayMs` (Entra replication). Password expiry is
 * judged on the twin's clock (`twinNow`); a federated assertion's `exp` on the machine's, as the Kubernetes API server
 * that issued it runs on that.
 *
 * Not imitated: delegated flows, certificates, v1 `resource=` requests' other quirks, conditional access, token caching
 * on Entra's side, tenant domain names in the path (only tenant ids).
 */
import { createPublicKey, generateKeyPairSync, randomUUID, sign, verify, type JsonWebKey, type KeyObject } from "node:crypto";
import * as http from "node:http";
import * as https from "node:https";
import {
    applicationByClientId,
    replicated,
    servicePrincipalOf,
    twinNow,
    type TwinApplication,
    type TwinState,
    type TwinStore,
} from "./store";
import type { TwinHandler, TwinRequest, TwinResponse } from "./https";

/** The public cloud's sign-in host. */
export const ENTRA_HOST = "login.microsoftonline.com";

const JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const TOKEN_LIFETIME_SECONDS = 3599;
const FETCH_TIMEOUT_MS = 5000;

/** The claims of an access token the twin issues. */
export interface TwinAccessTokenClaims {
    readonly aud: string;
    readonly iss: string;
    readonly iat: number;
    readonly nbf: number;
    readonly exp: number;
    readonly tid: string;
    readonly appid: string;
    readonly azp: string;
    readonly oid: string;
    readonly sub: string;
    /** `1`: client secret; `2`: client assertion (certificate or federated). */
    readonly appidacr: "1" | "2";
    readonly idtyp: "app";
    readonly ver: "1.0";
    readonly uti: string;
}

/** A JWT split into its parts; nothing verified. */
export interface DecodedJwt {
    readonly header: Record<string, unknown>;
    readonly payload: Record<string, unknown>;
    readonly signingInput: string;
    readonly signature: Buffer;
}

/** Splits and parses a compact JWS; undefined when it is not one. */
export function decodeJwt(token: string): DecodedJwt | undefined {
    const parts = token.split(".");
    if (parts.length !== 3) return undefined;
    try {
        const header = JSON.parse(Buffer.from(parts[0], "base64url").toString("utf8")) as unknown;
        const payload = JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8")) as unknown;
        if (!isRecord(header) || !isRecord(payload)) return undefined;
        return { header, payload, signingInput: `${parts[0]}.${parts[1]}`, signature: Buffer.from(parts[2], "base64url") };
    } catch {
        return undefined;
    }
}

/** Checks a JWS signature (RS256 or ES256) with a public key. */
export function verifyJwtSignature(jwt: DecodedJwt, key: KeyObject): boolean {
    const data = Buffer.from(jwt.signingInput);
    try {
        switch (jwt.header.alg) {
            case "RS256":
                return verify("RSA-SHA256", data, key, jwt.signature);
            case "ES256":
                return verify("sha256", data, { key, dsaEncoding: "ieee-p1363" }, jwt.signature);
            default:
                return false;
        }
    } catch {
        return false;
    }
}

/** The run's token signing key: Entra's signs the tokens, ARM's (and ACR's) check them. */
export class TwinTokenIssuer {
    /** `kid` of the key, as in Entra's JWKS. */
    readonly keyId = randomUUID();
    private readonly privateKey: KeyObject;
    private readonly publicKey: KeyObject;

    constructor() {
        const pair = generateKeyPairSync("rsa", { modulusLength: 2048 });
        this.privateKey = pair.privateKey;
        this.publicKey = pair.publicKey;
    }

    /** The JWKS Entra publishes at `/<tenant>/discovery/v2.0/keys`. */
    jwks(): { keys: JsonWebKey[] } {
        return { keys: [{ ...this.publicKey.export({ format: "jwk" }), kid: this.keyId, use: "sig", alg: "RS256" }] };
    }

    /** Signs `claims` as an RS256 JWT. */
    sign(claims: TwinAccessTokenClaims): string {
        const header = Buffer.from(JSON.stringify({ typ: "JWT", alg: "RS256", kid: this.keyId })).toString("base64url");
        const payload = Buffer.from(JSON.stringify(claims)).toString("base64url");
        const signature = sign("RSA-SHA256", Buffer.from(`${header}.${payload}`), this.privateKey).toString("base64url");
        return `${header}.${payload}.${signature}`;
    }

    /** The claims of a token this issuer signed, or undefined (not a JWT, another key, bad signature). Time is not checked. */
    verify(token: string): TwinAccessTokenClaims | undefined {
        const jwt = decodeJwt(token);
        if (jwt === undefined || jwt.header.kid !== this.keyId || jwt.header.alg !== "RS256") return undefined;
        return verifyJwtSignature(jwt, this.publicKey) ? (jwt.payload as unknown as TwinAccessTokenClaims) : undefined;
    }
}

/** How the Entra face is set up. */
export interface EntraFaceOptions {
    readonly store: TwinStore;
    readonly tokens: TwinTokenIssuer;
    /** PEM CA(s) to trust when fetching a federated issuer's keys (the test's Kubernetes API server). */
    readonly issuerCa?: string;
    /**
     * Replaces how a federated issuer's signing keys are found (default: `<iss>/.well-known/openid-configuration` →
     * `jwks_uri`, else `<iss>/openid/v1/jwks`, as the Kubernetes API server serves them).
     */
    readonly issuerKeys?: (issuer: string) => Promise<readonly JsonWebKey[]>;
}

/** The handler of `login.microsoftonline.com`. */
export function entraHandler(options: EntraFaceOptions): TwinHandler {
    return async (request) => {
        const path = request.url.pathname;
        const correlationId = headerText(request, "client-request-id") ?? randomUUID();
        let match: RegExpExecArray | null;
        if (request.method === "GET" && /^\/[^/]+\/discovery\/instance$/.test(path)) return instanceDiscovery(request);
        if (request.method === "GET" && (match = /^\/([^/]+)(\/v2\.0)?\/\.well-known\/openid-configuration$/.exec(path))) {
            return openIdConfiguration(options.store.read(), match[1], match[2] !== undefined, correlationId);
        }
        if (request.method === "GET" && /^\/[^/]+\/discovery(\/v2\.0)?\/keys$/.test(path)) {
            return { status: 200, body: options.tokens.jwks() };
        }
        if (request.method === "POST" && (match = /^\/([^/]+)\/oauth2(?:\/v2\.0)?\/token$/.exec(path))) {
            return tokenRequest(options, match[1], formOf(request), correlationId);
        }
        return { status: 404, headers: { "content-type": "text/html" }, body: "<html><body>Not found</body></html>" };
    };
}

function instanceDiscovery(request: TwinRequest): TwinResponse {
    let tenant = "common";
    const endpoint = request.url.searchParams.get("authorization_endpoint");
    if (endpoint) {
        try {
            tenant = new URL(endpoint).pathname.split("/")[1] || tenant;
        } catch {
            // Entra answers for `common` when it cannot read the endpoint.
        }
    }
    return {
        status: 200,
        body: {
            tenant_discovery_endpoint: `https://${ENTRA_HOST}/${tenant}/v2.0/.well-known/openid-configuration`,
            "api-version": "1.1",
            metadata: [
                {
                    preferred_network: "login.microsoftonline.com",
                    preferred_cache: "login.windows.net",
                    aliases: ["login.microsoftonline.com", "login.windows.net", "login.microsoft.com", "sts.windows.net"],
                },
                {
                    preferred_network: "login.partner.microsoftonline.cn",
                    preferred_cache: "login.partner.microsoftonline.cn",
                    aliases: ["login.partner.microsoftonline.cn", "login.chinacloudapi.cn"],
                },
                {
                    preferred_network: "login.microsoftonline.us",
                    preferred_cache: "login.microsoftonline.us",
                    aliases: ["login.microsoftonline.us", "login.usgovcloudapi.net"],
                },
            ],
        },
    };
}

function openIdConfiguration(state: TwinState, tenant: string, v2: boolean, correlationId: string): TwinResponse {
    const generic = tenant === "common" || tenant === "organizations";
    if (!generic && state.tenants[tenant] === undefined) {
        return entraError(400, "invalid_tenant", 90002, tenantNotFound(tenant), correlationId);
    }
    const base = `https://${ENTRA_HOST}/${tenant}`;
    const issuerTenant = generic ? "{tenantid}" : tenant;
    const suffix = v2 ? "/v2.0" : "";
    return {
        status: 200,
        body: {
            token_endpoint: `${base}/oauth2${suffix}/token`,
            token_endpoint_auth_methods_supported: ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            jwks_uri: `${base}/discovery${suffix}/keys`,
            response_modes_supported: ["query", "fragment", "form_post"],
            subject_types_supported: ["pairwise"],
            id_token_signing_alg_values_supported: ["RS256"],
            response_types_supported: ["code", "id_token", "code id_token", "id_token token"],
            scopes_supported: ["openid", "profile", "email", "offline_access"],
            issuer: v2 ? `https://${ENTRA_HOST}/${issuerTenant}/v2.0` : `https://sts.windows.net/${issuerTenant}/`,
            request_uri_parameter_supported: false,
            authorization_endpoint: `${base}/oauth2${suffix}/authorize`,
            device_authorization_endpoint: `${base}/oauth2${suffix}/devicecode`,
            end_session_endpoint: `${base}/oauth2${suffix}/logout`,
            tenant_region_scope: "EU",
            cloud_instance_name: "microsoftonline.com",
            cloud_graph_host_name: "graph.windows.net",
            msgraph_host: "graph.microsoft.com",
        },
    };
}

async function tokenRequest(
    options: EntraFaceOptions,
    tenant: string,
    form: URLSearchParams,
    correlationId: string,
): Promise<TwinResponse> {
    const state = options.store.read();
    const fail = (status: number, error: string, code: number, description: string): TwinResponse =>
        entraError(status, error, code, description, correlationId);

    if (state.tenants[tenant] === undefined) return fail(400, "invalid_request", 90002, tenantNotFound(tenant));
    const grantType = form.get("grant_type");
    if (grantType !== "client_credentials") {
        return fail(
            400,
            "unsupported_grant_type",
            70003,
            `The app requested an unsupported grant type '${grantType ?? ""}'; the Azure twin serves client_credentials only.`,
        );
    }
    const clientId = form.get("client_id");
    if (!clientId) return fail(400, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.");
    // v1 requests name the resource itself.
    const resource = form.get("resource") ?? resourceOfScope(form.get("scope"));
    if (resource === undefined) {
        return fail(
            400,
            "invalid_scope",
            1002012,
            `The provided value for scope ${form.get("scope") ?? ""} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
        );
    }

    const app = applicationByClientId(state, clientId);
    const tenantName = state.tenants[tenant].displayName;
    const notInDirectory = (): TwinResponse =>
        fail(
            400,
            "unauthorized_client",
            700016,
            `Application with identifier '${clientId}' was not found in the directory '${tenantName}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
        );
    if (app === undefined) return notInDirectory();
    const home = app.homeTenantId === tenant;
    if (!home && app.signInAudience !== "AzureADMultipleOrgs" && app.signInAudience !== "AzureADandPersonalMicrosoftAccount") {
        return notInDirectory();
    }
    const principal = servicePrincipalOf(state, clientId, tenant);
    if (principal === undefined || !replicated(state, principal)) {
        if (!home) return notInDirectory();
        return fail(
            400,
            "invalid_client",
            7000229,
            `The client application ${clientId} is missing service principal in the tenant ${tenant}. See instructions here: https://go.microsoft.com/fwlink/?linkid=2225119`,
        );
    }

    const assertionType = form.get("client_assertion_type");
    const secret = form.get("client_secret");
    let method: "1" | "2";
    if (secret !== null) {
        const refused = checkSecret(state, app, secret);
        if (refused !== undefined) return fail(401, "invalid_client", refused.code, refused.description);
        method = "1";
    } else if (assertionType === JWT_BEARER && form.get("client_assertion")) {
        const refused = await checkFederatedAssertion(options, state, app, form.get("client_assertion")!);
        if (refused !== undefined) return fail(refused.status, refused.error, refused.code, refused.description);
        method = "2";
    } else {
        return fail(
            401,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        );
    }

    const now = Math.floor(twinNow(state).getTime() / 1000);
    const accessToken = options.tokens.sign({
        aud: resource,
        iss: `https://sts.windows.net/${tenant}/`,
        iat: now,
        nbf: now,
        exp: now + TOKEN_LIFETIME_SECONDS,
        tid: tenant,
        appid: clientId,
        azp: clientId,
        oid: principal.objectId,
        sub: principal.objectId,
        appidacr: method,
        idtyp: "app",
        ver: "1.0",
        uti: randomUUID(),
    });
    return {
        status: 200,
        body: {
            token_type: "Bearer",
            expires_in: TOKEN_LIFETIME_SECONDS,
            ext_expires_in: TOKEN_LIFETIME_SECONDS,
            access_token: accessToken,
        },
    };
}

/** The resource a client credentials scope names: `https://management.azure.com/.default` → `https://management.azure.com`. */
function resourceOfScope(scope: string | null): string | undefined {
    const scopes = (scope ?? "").split(/\s+/).filter((item) => item !== "" && !["openid", "profile", "offline_access"].includes(item));
    if (scopes.length !== 1 || !scopes[0].endsWith("/.default")) return undefined;
    return scopes[0].slice(0, -"/.default".length);
}

function checkSecret(state: TwinState, app: TwinApplication, secret: string): { code: number; description: string } | undefined {
    const matching = Object.values(state.passwords).filter((p) => p.applicationObjectId === app.objectId && p.value === secret);
    if (matching.length === 0) {
        return {
            code: 7000215,
            description: `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${app.clientId}'.`,
        };
    }
    const now = twinNow(state).getTime();
    if (!matching.some((p) => Date.parse(p.endDate) > now)) {
        return {
            code: 7000222,
            description: `The provided client secret keys for app '${app.clientId}' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.`,
        };
    }
    return undefined;
}

interface Refusal {
    readonly status: number;
    readonly error: string;
    readonly code: number;
    readonly description: string;
}

async function checkFederatedAssertion(
    options: EntraFaceOptions,
    state: TwinState,
    app: TwinApplication,
    assertion: string,
): Promise<Refusal | undefined> {
    const jwt = decodeJwt(assertion);
    const iss = jwt?.payload.iss;
    const sub = jwt?.payload.sub;
    if (jwt === undefined || typeof iss !== "string" || typeof sub !== "string") {
        return { status: 400, error: "invalid_request", code: 50027, description: "JWT token is invalid or malformed." };
    }
    const audiences = Array.isArray(jwt.payload.aud)
        ? jwt.payload.aud.filter((a): a is string => typeof a === "string")
        : [jwt.payload.aud];
    const credentials = Object.values(state.federatedCredentials).filter((c) => c.applicationObjectId === app.objectId);
    const byIssuer = credentials.filter((c) => c.issuer === iss);
    if (byIssuer.length === 0) {
        return {
            status: 400,
            error: "invalid_request",
            code: 700211,
            description: `No matching federated identity record found for presented assertion issuer '${iss}'. Please note that the matching is done using a case-sensitive comparison. Check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation`,
        };
    }
    if (!byIssuer.some((c) => c.subject === sub && audiences.some((a) => typeof a === "string" && c.audiences.includes(a)))) {
        return {
            status: 400,
            error: "invalid_request",
            code: 70021,
            description: `No matching federated identity record found for presented assertion. Assertion Issuer: '${iss}'. Assertion Subject: '${sub}'. Assertion Audience: '${audiences.join(",")}'. https://learn.microsoft.com/entra/workload-id/workload-identity-federation`,
        };
    }
    let keys: readonly JsonWebKey[];
    try {
        keys = await (options.issuerKeys ?? ((issuer: string) => fetchIssuerKeys(issuer, options.issuerCa)))(iss);
    } catch (error) {
        return {
            status: 400,
            error: "invalid_request",
            code: 50166,
            description: `Request to External OIDC endpoint failed: ${error instanceof Error ? error.message : String(error)}`,
        };
    }
    const kid = jwt.header.kid;
    const candidates = keys.filter((key) => kid === undefined || (key as { kid?: unknown }).kid === kid);
    const valid = candidates.some((key) => {
        try {
            return verifyJwtSignature(jwt, createPublicKey({ key, format: "jwk" }));
        } catch {
            return false;
        }
    });
    if (!valid) {
        return { status: 401, error: "invalid_client", code: 700027, description: "Client assertion failed signature validation." };
    }
    // The assertion's issuer (the Kubernetes API server) runs on the machine's clock, not the twin's.
    const nowSeconds = Date.now() / 1000;
    const exp = typeof jwt.payload.exp === "number" ? jwt.payload.exp : 0;
    const nbf = typeof jwt.payload.nbf === "number" ? jwt.payload.nbf : 0;
    if (exp <= nowSeconds || nbf > nowSeconds + 300) {
        return {
            status: 400,
            error: "invalid_client",
            code: 700024,
            description: `Client assertion is not within its valid time range. Current time: ${new Date().toISOString()}, expiry time of assertion ${new Date(exp * 1000).toISOString()}.`,
        };
    }
    return undefined;
}

/** The issuer's keys, found through its OIDC discovery document, else at the Kubernetes API server's path. */
async function fetchIssuerKeys(issuer: string, ca: string | undefined): Promise<readonly JsonWebKey[]> {
    const base = issuer.replace(/\/+$/, "");
    let jwksUri = `${base}/openid/v1/jwks`;
    try {
        const discovery = await fetchJson(`${base}/.well-known/openid-configuration`, ca);
        if (isRecord(discovery) && typeof discovery.jwks_uri === "string") jwksUri = discovery.jwks_uri;
    } catch {
        // Keep the Kubernetes API server's path.
    }
    const jwks = await fetchJson(jwksUri, ca);
    if (!isRecord(jwks) || !Array.isArray(jwks.keys)) throw new Error(`${jwksUri} is not a JWKS`);
    return jwks.keys as JsonWebKey[];
}

function fetchJson(url: string, ca: string | undefined): Promise<unknown> {
    return new Promise((resolve, reject) => {
        const target = new URL(url);
        const client = target.protocol === "https:" ? https : http;
        const request = client.get(
            target,
            { ...(ca !== undefined && target.protocol === "https:" ? { ca } : {}), timeout: FETCH_TIMEOUT_MS },
            (response) => {
                const chunks: Buffer[] = [];
                response.on("data", (chunk: Buffer) => chunks.push(chunk));
                response.on("end", () => {
                    if (response.statusCode !== 200) return reject(new Error(`GET ${url}: HTTP ${response.statusCode}`));
                    try {
                        resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")));
                    } catch {
                        reject(new Error(`GET ${url}: not JSON`));
                    }
                });
                response.on("error", reject);
            },
        );
        request.on("timeout", () => request.destroy(new Error(`GET ${url}: no answer in ${FETCH_TIMEOUT_MS} ms`)));
        request.on("error", reject);
    });
}

function tenantNotFound(tenant: string): string {
    return `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`;
}

/** Entra's error body: the AADSTS code leads the description, which ends with the ids and time, as Entra writes it. */
function entraError(status: number, error: string, code: number, description: string, correlationId: string): TwinResponse {
    const traceId = randomUUID();
    const timestamp = new Date()
        .toISOString()
        .replace("T", " ")
        .replace(/\.\d+Z$/, "Z");
    return {
        status,
        body: {
            error,
            error_description: `AADSTS${code}: ${description} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${timestamp}`,
            error_codes: [code],
            timestamp,
            trace_id: traceId,
            correlation_id: correlationId,
            error_uri: `https://${ENTRA_HOST}/error?code=${code}`,
        },
    };
}

function formOf(request: TwinRequest): URLSearchParams {
    return new URLSearchParams(request.body.toString("utf8"));
}

function headerText(request: TwinRequest, name: string): string | undefined {
    const value = request.headers[name];
    return Array.isArray(value) ? value[0] : value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}
