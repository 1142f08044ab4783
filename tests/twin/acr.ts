/**
 * The Azure twin's face of ACR's token service: what a registry client (skopeo, the kubelet's containerd, External
 * Secrets Operator's ACR generator) asks of `https://<registry>.azurecr.io/oauth2/...` before it may pull, answered from
 * the twin's store (applications, passwords, service principals, role assignments with their conditions, registries
 * with their role-assignment mode). The registry behind it (distribution, `registry.ts`) checks the access tokens
 * this file signs.
 *
 * What it imitates, and where that was read:
 * - The protocol (Azure/acr `docs/AAD-OAuth.md` and `docs/Token-BasicAuth.md`): `POST /oauth2/exchange` with the form
 *   `grant_type=access_token, service, tenant, access_token` (an Entra token for ARM) answers `{"refresh_token"}`;
 *   `POST /oauth2/token` with `grant_type=refresh_token, service, scope, refresh_token` answers `{"access_token"}`;
 *   `GET /oauth2/token?service=..&scope=..` with Basic credentials answers the same — the credentials are the null
 *   GUID user `00000000-0000-0000-0000-000000000000` with an ACR refresh token as password, a service principal's
 *   client id and secret, or the registry's admin user (username = the registry's name). The exchange is POST only
 *   (a GET is 404: Azure/acr#166). Answers carry string values only: External Secrets Operator v0.20.4
 *   (`pkg/generator/acr/acr.go`) decodes both answers into a `map[string]string`.
 * - The tokens' claims (AAD-OAuth.md "token claim sets"): `iss` "Azure Container Registry", `aud` the login server,
 *   `sub`, `jti`, `iat`, `nbf`, `exp`, `version` "1.0", `grant_type`; the refresh token's `tenant` and
 *   `permissions`; the access token's `access: [{type, name, actions}]` (the Docker token spec's claim set, which
 *   distribution checks). Lifetimes from the same examples: a refresh token ~3 hours (`az acr login --expose-token`
 *   says so), an access token 75 minutes.
 * - Who may pull (ACR docs "RBAC Registry + ABAC Repository Permissions", Microsoft's built-in role ids, and the
 *   design notes): in `LegacyRegistryPermissions` mode only AcrPull (7f951dda-…) counts; in `AbacRepositoryPermissions`
 *   mode only Container Registry Repository Reader (b93aa761-…) counts, and its ABAC condition (Azure's condition
 *   format: `ActionMatches{'…'}`, `@Request[Microsoft.ContainerRegistry/registries/repositories:name]` with the
 *   `String*` operators, `AND`/`OR`/`NOT`/`!`, parentheses) must be true for both of its data actions
 *   (`repositories/content/read`, `repositories/metadata/read`) and the repository asked for.
 * - Refusals: ACR refuses to mint anything for a principal with no role the registry honours (`az acr login`'s
 *   CONNECTIVITY_REFRESH_TOKEN_ERROR / CONNECTIVITY_ACCESS_TOKEN_ERROR: "access to the target registry was denied";
 *   a GET `/oauth2/token` answering `UNAUTHORIZED: authentication required, visit https://aka.ms/acr/authorization`,
 *   microsoft/azure-container-apps#212); a wrong or expired client secret is `401 UNAUTHORIZED "Invalid clientid or
 *   client secret."` (Azure/docker-login#46), an unknown client id `"Application not registered with AAD."`
 *   (Azure-Samples/cognitive-services-containers-samples#21); all in the registry error shape
 *   `{"errors":[{"code","message"}]}`. A principal that may use the registry but not the repository gets an access
 *   token without it, so the registry answers the pull `401 UNAUTHORIZED` (as ACR's "authentication required"
 *   troubleshooting page shows on `HEAD .../manifests/<tag>`).
 *
 * Not imitated: push, delete and the other ACR roles (Owner, Contributor, Reader, AcrPush, Repository Writer...),
 * scope-map tokens, anonymous pull, the deprecated `access_token_refresh_token` and `refresh_token` exchange grants,
 * `grant_type=password`, helm and catalog scopes, dedicated data endpoints, network rules. Each registry's admin user is
 * enabled only when a test asks for it (`adminUser`), to push the test image.
 *
 * Clocks: the refresh token and the Entra token are judged on the twin's clock (`twinNow`), as the twin issued them;
 * access tokens are dated on the machine's clock, because the registry that checks them runs on it.
 *
 * Every answer records a `decision` in the face's request log: who, what was granted or why it was refused; never a
 * secret, a password or a token.
 */
import { execFileSync } from "node:child_process";
import { createPrivateKey, createPublicKey, randomBytes, randomUUID, sign, X509Certificate, type KeyObject } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { ARM_AUDIENCES } from "./arm";
import { decodeJwt, verifyJwtSignature, type TwinTokenIssuer } from "./entra";
import type { TwinHandler, TwinRequest, TwinResponse } from "./https";
import {
    applicationByClientId,
    replicated,
    servicePrincipalOf,
    twinNow,
    type TwinRegistry,
    type TwinRoleAssignment,
    type TwinState,
    type TwinStore,
} from "./store";

/** The `iss` of every ACR token, and distribution's `auth.token.issuer`. */
export const ACR_ISSUER = "Azure Container Registry";
/** The username that tells ACR the password is one of its refresh tokens. */
export const ACR_NULL_GUID_USER = "00000000-0000-0000-0000-000000000000";
/** Microsoft's built-in role ids that let a principal pull, by role-assignment mode. */
export const ACR_PULL_ROLE = "7f951dda-4ed3-4680-a7ca-43fe172d538d";
export const REPOSITORY_READER_ROLE = "b93aa761-3e63-49ed-ac28-beffa264f7ac";
/** The data actions of Container Registry Repository Reader: a pull performs both. */
export const PULL_DATA_ACTIONS: readonly string[] = [
    "Microsoft.ContainerRegistry/registries/repositories/content/read",
    "Microsoft.ContainerRegistry/registries/repositories/metadata/read",
];
const REPOSITORY_NAME_ATTRIBUTE = "@request[microsoft.containerregistry/registries/repositories:name]";

const REFRESH_TOKEN_SECONDS = 3 * 3600;
const ACCESS_TOKEN_SECONDS = 75 * 60;
const AUTHENTICATION_REQUIRED = "authentication required, visit https://aka.ms/acr/authorization for more information.";

/** One entry of a token's `access` claim, or one requested scope (`repository:team-a/app:pull,push`). */
export interface AcrAccess {
    readonly type: string;
    readonly name: string;
    readonly actions: readonly string[];
}

/** The key ACR's tokens are signed with, and the root the registry trusts it by. */
export interface AcrSigningKey {
    /** PEM file of the root certificate: distribution's `auth.token.rootcertbundle`. */
    readonly rootCertFile: string;
    /** Signs `claims` as an ES256 JWT whose header's `x5c` holds the signing certificate and the root. */
    sign(claims: Record<string, unknown>): string;
    /** The claims of a token this key signed, or undefined. Time is not checked. */
    verify(token: string): Record<string, unknown> | undefined;
}

/**
 * Makes a signing key for ACR's tokens in `dir`: a root of its own (not the TLS CA: the registry trusts the token
 * issuer, clients trust the TLS host) and an EC P-256 certificate signed by it, with the `openssl` CLI as `ca.ts` does.
 */
export function createAcrSigningKey(dir: string): AcrSigningKey {
    fs.mkdirSync(dir, { recursive: true });
    const rootCertFile = path.join(dir, "token-root.pem");
    const rootKey = path.join(dir, "token-root.key");
    const leafCert = path.join(dir, "token-signer.pem");
    const leafKey = path.join(dir, "token-signer.key");
    const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "30"];
    const quiet = { stdio: ["ignore", "ignore", "pipe"] as ["ignore", "ignore", "pipe"] };
    execFileSync(
        "openssl",
        [
            "req",
            "-x509",
            ...ec,
            "-keyout",
            rootKey,
            "-out",
            rootCertFile,
            "-subj",
            `/CN=Azure twin ACR token root ${process.pid}-${Date.now()}`,
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign",
        ],
        quiet,
    );
    execFileSync(
        "openssl",
        [
            "req",
            "-x509",
            ...ec,
            "-keyout",
            leafKey,
            "-out",
            leafCert,
            "-subj",
            "/CN=Azure twin ACR token signer",
            "-CA",
            rootCertFile,
            "-CAkey",
            rootKey,
            "-addext",
            "basicConstraints=critical,CA:FALSE",
            "-addext",
            "keyUsage=critical,digitalSignature",
        ],
        quiet,
    );
    const privateKey = createPrivateKey(fs.readFileSync(leafKey, "utf8"));
    const certificate = new X509Certificate(fs.readFileSync(leafCert));
    const publicKey: KeyObject = createPublicKey(certificate.publicKey.export({ type: "spki", format: "pem" }));
    // x5c: base64 (not base64url) DER, the signer first (RFC 7515 §4.1.6).
    const x5c = [certificate.raw.toString("base64"), new X509Certificate(fs.readFileSync(rootCertFile)).raw.toString("base64")];
    return {
        rootCertFile,
        sign(claims) {
            const header = Buffer.from(JSON.stringify({ typ: "JWT", alg: "ES256", x5c })).toString("base64url");
            const payload = Buffer.from(JSON.stringify(claims)).toString("base64url");
            const signature = sign("sha256", Buffer.from(`${header}.${payload}`), { key: privateKey, dsaEncoding: "ieee-p1363" });
            return `${header}.${payload}.${signature.toString("base64url")}`;
        },
        verify(token) {
            const jwt = decodeJwt(token);
            if (jwt === undefined || jwt.header.alg !== "ES256") return undefined;
            return verifyJwtSignature(jwt, publicKey) ? jwt.payload : undefined;
        },
    };
}

/** ACR's admin user of one registry: username = the registry's name, full rights on every repository. */
export interface AcrAdminUser {
    readonly username: string;
    readonly password: string;
}

/** How the token service is set up. */
export interface AcrTokenServiceOptions {
    readonly store: TwinStore;
    /** The twin's Entra signing key (`face.tokens`): `/oauth2/exchange` takes only tokens it signed. */
    readonly entraTokens: TwinTokenIssuer;
    readonly signingKey: AcrSigningKey;
}

/** Who a request authenticated as. */
type Principal =
    | { readonly kind: "admin"; readonly name: string }
    | { readonly kind: "servicePrincipal"; readonly clientId: string; readonly objectId: string; readonly via: string };

/** Why a request was refused: the HTTP answer and the decision recorded. */
class Refusal extends Error {
    constructor(
        readonly status: number,
        readonly code: string,
        readonly publicMessage: string,
        readonly decision: string,
    ) {
        super(decision);
    }
}

/** ACR's token service for every registry of the store, and each registry's admin user once enabled. */
export class AcrTokenService {
    private readonly admins = new Map<string, AcrAdminUser>();

    constructor(private readonly options: AcrTokenServiceOptions) {}

    /**
     * Enables the admin user of the registry at `loginServer` (made on first ask) and returns it. Tests push their image
     * with it; no delivery of the product uses it.
     */
    adminUser(loginServer: string): AcrAdminUser {
        const registry = registryByLoginServer(this.options.store.read(), loginServer);
        if (registry === undefined) throw new Error(`the twin has no registry at ${loginServer}`);
        let admin = this.admins.get(registry.loginServer);
        if (admin === undefined) {
            admin = { username: registry.name, password: randomBytes(24).toString("base64url") };
            this.admins.set(registry.loginServer, admin);
        }
        return admin;
    }

    /** Serves `/oauth2/exchange` and `/oauth2/token` of every registry's login server; anything else is 404. */
    readonly handler: TwinHandler = (request) => {
        const state = this.options.store.read();
        const registry = registryByLoginServer(state, request.host);
        const path = request.url.pathname;
        if (registry === undefined) return acrError(404, "NOT_FOUND", `The Azure twin has no registry at ${request.host}.`);
        try {
            if (path === "/oauth2/exchange") {
                // ACR answers the exchange to POST only; any other method is 404 (Azure/acr#166).
                if (request.method !== "POST") return acrError(404, "NOT_FOUND", "404 page not found");
                return this.exchange(state, registry, new URLSearchParams(request.body.toString("utf8")));
            }
            if (path === "/oauth2/token") {
                if (request.method === "GET") return this.basicToken(state, registry, request);
                if (request.method === "POST")
                    return this.refreshTokenGrant(state, registry, new URLSearchParams(request.body.toString("utf8")));
                return acrError(405, "UNSUPPORTED", `The method ${request.method} is not allowed on /oauth2/token.`);
            }
            return acrError(404, "NOT_FOUND", "404 page not found");
        } catch (error) {
            if (!(error instanceof Refusal)) throw error;
            return { ...acrError(error.status, error.code, error.publicMessage), decision: error.decision };
        }
    };

    /** `POST /oauth2/exchange`: an Entra token for ARM of the registry's tenant becomes an ACR refresh token. */
    private exchange(state: TwinState, registry: TwinRegistry, form: URLSearchParams): TwinResponse {
        requireGrantType(form, "access_token", "exchange");
        checkService(form.get("service"), registry);
        const tenant = form.get("tenant");
        const token = form.get("access_token");
        if (!tenant || !token) throw badRequest("exchange: the form needs tenant and access_token");
        const claims = this.options.entraTokens.verify(token);
        if (claims === undefined) throw unauthorized("exchange: the access token is not one Entra (the twin) signed");
        if (!ARM_AUDIENCES.includes(claims.aud)) throw unauthorized(`exchange: the access token is for ${claims.aud}, not ARM`);
        if (claims.exp * 1000 <= twinNow(state).getTime()) throw unauthorized(`exchange: ${claims.appid}'s access token has expired`);
        if (claims.tid !== tenant) throw unauthorized(`exchange: the token is of tenant ${claims.tid}, the form names ${tenant}`);
        if (claims.tid !== registry.tenantId) {
            throw unauthorized(`exchange: the token is of tenant ${claims.tid}, the registry is in tenant ${registry.tenantId}`);
        }
        const principal = this.servicePrincipal(state, registry, claims.appid, "an Entra token");
        this.requireHonouredRole(state, registry, principal, "exchange");
        const now = Math.floor(twinNow(state).getTime() / 1000);
        const refreshToken = this.options.signingKey.sign({
            jti: randomUUID(),
            sub: principal.clientId,
            nbf: now,
            exp: now + REFRESH_TOKEN_SECONDS,
            iat: now,
            iss: ACR_ISSUER,
            aud: registry.loginServer,
            version: "1.0",
            grant_type: "refresh_token",
            tenant: registry.tenantId,
            permissions: { actions: ["*"], notActions: [] },
            roles: [],
        });
        return { status: 200, body: { refresh_token: refreshToken }, decision: `exchange: refresh token for ${principal.clientId}` };
    }

    /** `POST /oauth2/token` with `grant_type=refresh_token`. */
    private refreshTokenGrant(state: TwinState, registry: TwinRegistry, form: URLSearchParams): TwinResponse {
        requireGrantType(form, "refresh_token", "token");
        checkService(form.get("service"), registry);
        const refreshToken = form.get("refresh_token");
        if (!refreshToken) throw badRequest("token: the form needs refresh_token");
        const principal = this.fromRefreshToken(state, registry, refreshToken);
        return this.accessToken(state, registry, principal, scopesOf(form.getAll("scope")), "refresh_token", false);
    }

    /** `GET /oauth2/token` with Basic credentials. */
    private basicToken(state: TwinState, registry: TwinRegistry, request: TwinRequest): TwinResponse {
        checkService(request.url.searchParams.get("service"), registry);
        const credentials = basicCredentials(request);
        // No anonymous pull: a client without credentials gets nothing.
        if (credentials === undefined) throw unauthorized("token: no credentials (anonymous pull is off)");
        const { username, password } = credentials;
        let principal: Principal;
        const admin = this.admins.get(registry.loginServer);
        if (username === ACR_NULL_GUID_USER) {
            principal = this.fromRefreshToken(state, registry, password);
        } else if (admin !== undefined && username === admin.username) {
            if (password !== admin.password) throw unauthorized(`token: wrong password for the admin user ${username}`);
            principal = { kind: "admin", name: admin.username };
        } else {
            principal = this.fromClientSecret(state, registry, username, password);
        }
        const scopes = scopesOf(request.url.searchParams.getAll("scope"));
        return this.accessToken(state, registry, principal, scopes, "password", true);
    }

    private fromClientSecret(state: TwinState, registry: TwinRegistry, clientId: string, secret: string): Principal {
        const app = applicationByClientId(state, clientId);
        if (app === undefined) {
            throw new Refusal(
                401,
                "UNAUTHORIZED",
                "Application not registered with AAD.",
                `token: no application has client id ${clientId}`,
            );
        }
        const invalid = (why: string): Refusal =>
            new Refusal(401, "UNAUTHORIZED", "Invalid clientid or client secret.", `token: ${clientId}: ${why}`);
        const matching = Object.values(state.passwords).filter((p) => p.applicationObjectId === app.objectId && p.value === secret);
        if (matching.length === 0) throw invalid("no live password of the application has this text (wrong, or deleted)");
        if (!matching.some((p) => Date.parse(p.endDate) > twinNow(state).getTime())) throw invalid("the password has expired");
        return this.servicePrincipal(state, registry, clientId, "a client secret");
    }

    private fromRefreshToken(state: TwinState, registry: TwinRegistry, token: string): Principal {
        const claims = this.options.signingKey.verify(token);
        if (claims === undefined) throw unauthorized("token: the refresh token is not one ACR (the twin) signed");
        if (claims.iss !== ACR_ISSUER || claims.grant_type !== "refresh_token") throw unauthorized("token: not an ACR refresh token");
        if (claims.aud !== registry.loginServer) throw unauthorized(`token: the refresh token is for ${String(claims.aud)}`);
        if (typeof claims.exp !== "number" || claims.exp * 1000 <= twinNow(state).getTime()) {
            throw unauthorized(`token: ${String(claims.sub)}'s refresh token has expired`);
        }
        return this.servicePrincipal(state, registry, String(claims.sub), "a refresh token");
    }

    /** The application's service principal in the registry's tenant, replicated; else the request is refused. */
    private servicePrincipal(
        state: TwinState,
        registry: TwinRegistry,
        clientId: string,
        via: string,
    ): Extract<Principal, { kind: "servicePrincipal" }> {
        const sp = servicePrincipalOf(state, clientId, registry.tenantId);
        if (sp === undefined || !replicated(state, sp)) {
            throw unauthorized(`${clientId} has no service principal in the registry's tenant ${registry.tenantId}`);
        }
        return { kind: "servicePrincipal", clientId, objectId: sp.objectId, via };
    }

    private requireHonouredRole(state: TwinState, registry: TwinRegistry, principal: Principal, step: string): void {
        if (principal.kind !== "servicePrincipal") return;
        if (honouredAssignments(state, registry, principal.objectId).length > 0) return;
        const ignored =
            registry.roleAssignmentMode === "AbacRepositoryPermissions"
                ? "AcrPull is ignored in this mode"
                : "Repository Reader is ignored in this mode";
        throw unauthorized(
            `${step}: ${principal.clientId} has no role ${registry.name} honours in ${registry.roleAssignmentMode} mode (${ignored})`,
        );
    }

    private accessToken(
        state: TwinState,
        registry: TwinRegistry,
        principal: Principal,
        scopes: readonly AcrAccess[],
        grantType: string,
        withTokenField: boolean,
    ): TwinResponse {
        this.requireHonouredRole(state, registry, principal, "token");
        const granted: AcrAccess[] = [];
        const notes: string[] = [];
        for (const scope of scopes) {
            if (principal.kind === "admin") {
                granted.push(scope);
                continue;
            }
            if (scope.type !== "repository" || !scope.actions.includes("pull")) {
                notes.push(`no ${scope.type}:${scope.name}:${scope.actions.join(",")} (pull roles only)`);
                continue;
            }
            const decision = pullPermission(state, registry, principal.objectId, scope.name);
            if (decision.allowed) granted.push({ type: "repository", name: scope.name, actions: ["pull"] });
            notes.push(`${decision.allowed ? "pull" : "no pull"} on ${scope.name}: ${decision.reason}`);
        }
        const now = Math.floor(Date.now() / 1000);
        const subject = principal.kind === "admin" ? principal.name : principal.clientId;
        const token = this.options.signingKey.sign({
            jti: randomUUID(),
            sub: subject,
            nbf: now - 5,
            exp: now + ACCESS_TOKEN_SECONDS,
            iat: now,
            iss: ACR_ISSUER,
            aud: registry.loginServer,
            version: "1.0",
            access: granted,
            roles: [],
            grant_type: grantType,
        });
        const who = principal.kind === "admin" ? `admin user ${principal.name}` : `${principal.clientId} (by ${principal.via})`;
        return {
            status: 200,
            // skopeo reads `token`, ESO and containerd `access_token`: a GET answers both, as distribution's spec allows.
            body: withTokenField ? { access_token: token, token } : { access_token: token },
            decision: `token for ${who}: ${principal.kind === "admin" ? "everything asked" : notes.join("; ") || "no scope asked"}`,
        };
    }
}

/** The registry whose login server is `host`. */
export function registryByLoginServer(state: TwinState, host: string): TwinRegistry | undefined {
    return Object.values(state.registries).find((registry) => registry.loginServer === host.toLowerCase());
}

/** Whether an assignment's scope is the registry or one of its parents (resource group, subscription). */
function covers(scope: string, registryId: string): boolean {
    const s = scope.toLowerCase().replace(/\/+$/, "");
    const id = registryId.toLowerCase();
    return id === s || id.startsWith(`${s}/`);
}

/** The role assignments of `principalObjectId` that the registry honours in its current mode. */
export function honouredAssignments(state: TwinState, registry: TwinRegistry, principalObjectId: string): TwinRoleAssignment[] {
    const role = registry.roleAssignmentMode === "AbacRepositoryPermissions" ? REPOSITORY_READER_ROLE : ACR_PULL_ROLE;
    return Object.values(state.roleAssignments).filter(
        (a) =>
            a.principalId === principalObjectId &&
            a.tenantId === registry.tenantId &&
            covers(a.scope, registry.id) &&
            a.roleDefinitionId.toLowerCase().endsWith(`/${role}`),
    );
}

/** Whether a principal may pull `repository` from `registry`, and why. */
export function pullPermission(
    state: TwinState,
    registry: TwinRegistry,
    principalObjectId: string,
    repository: string,
): { readonly allowed: boolean; readonly reason: string } {
    const assignments = honouredAssignments(state, registry, principalObjectId);
    if (assignments.length === 0) {
        return { allowed: false, reason: `no role honoured in ${registry.roleAssignmentMode} mode` };
    }
    const reasons: string[] = [];
    for (const assignment of assignments) {
        const role = registry.roleAssignmentMode === "AbacRepositoryPermissions" ? "Repository Reader" : "AcrPull";
        if (!assignment.condition) return { allowed: true, reason: `${role} without condition` };
        let condition: ConditionExpression;
        try {
            condition = parseCondition(assignment.condition);
        } catch (error) {
            reasons.push(`${role}'s condition not understood (${(error as Error).message})`);
            continue;
        }
        if (PULL_DATA_ACTIONS.every((action) => evaluateCondition(condition, { action, repository }))) {
            return { allowed: true, reason: `${role}'s condition holds` };
        }
        reasons.push(`${role}'s condition is false for it`);
    }
    return { allowed: false, reason: reasons.join("; ") };
}

/** A parsed ABAC condition. */
export type ConditionExpression =
    | { readonly kind: "or" | "and"; readonly operands: readonly ConditionExpression[] }
    | { readonly kind: "not"; readonly operand: ConditionExpression }
    | { readonly kind: "action"; readonly pattern: string }
    | { readonly kind: "compare"; readonly attribute: string; readonly operator: string; readonly values: readonly string[] };

/** What a condition is evaluated against: the data action performed and the repository asked for. */
export interface ConditionRequest {
    readonly action: string;
    readonly repository: string;
}

const OPERATORS = new Set([
    "stringequals",
    "stringequalsignorecase",
    "stringnotequals",
    "stringnotequalsignorecase",
    "stringstartswith",
    "stringstartswithignorecase",
    "stringnotstartswith",
    "stringnotstartswithignorecase",
]);

/**
 * Parses the subset of Azure's condition format that repository limits use (Azure RBAC "condition format and syntax"):
 * `ActionMatches{'<action>'}`, `@Request[<attribute>] <StringEquals|StringStartsWith|...>[IgnoreCase] '<value>'` (or
 * `{'a', 'b'}`), `!`/`NOT`, `AND`/`&&`, `OR`/`||`, parentheses. Anything else throws.
 */
export function parseCondition(text: string): ConditionExpression {
    const tokens = tokenize(text);
    let at = 0;
    const peek = (): string | undefined => tokens[at];
    const next = (): string => {
        const token = tokens[at++];
        if (token === undefined) throw new Error("the condition ends early");
        return token;
    };
    const expect = (wanted: string): void => {
        const token = next();
        if (token !== wanted) throw new Error(`expected ${wanted}, found ${token}`);
    };
    const string = (): string => {
        const token = next();
        if (!token.startsWith("'")) throw new Error(`expected a quoted string, found ${token}`);
        return token.slice(1, -1);
    };
    const isWord = (token: string | undefined, ...words: string[]): boolean => token !== undefined && words.includes(token.toUpperCase());

    const orExpression = (): ConditionExpression => {
        const operands = [andExpression()];
        while (isWord(peek(), "OR", "||")) {
            next();
            operands.push(andExpression());
        }
        return operands.length === 1 ? operands[0] : { kind: "or", operands };
    };
    const andExpression = (): ConditionExpression => {
        const operands = [unary()];
        while (isWord(peek(), "AND", "&&")) {
            next();
            operands.push(unary());
        }
        return operands.length === 1 ? operands[0] : { kind: "and", operands };
    };
    const unary = (): ConditionExpression => {
        if (isWord(peek(), "!", "NOT")) {
            next();
            return { kind: "not", operand: unary() };
        }
        return primary();
    };
    const primary = (): ConditionExpression => {
        const token = next();
        if (token === "(") {
            const inner = orExpression();
            expect(")");
            return inner;
        }
        if (token.toLowerCase() === "actionmatches") {
            expect("{");
            const pattern = string();
            expect("}");
            return { kind: "action", pattern };
        }
        if (token.startsWith("@")) {
            const operator = next();
            if (!OPERATORS.has(operator.toLowerCase())) throw new Error(`operator ${operator} is not imitated`);
            let values: string[];
            if (peek() === "{") {
                next();
                values = [string()];
                while (peek() === ",") {
                    next();
                    values.push(string());
                }
                expect("}");
            } else {
                values = [string()];
            }
            return { kind: "compare", attribute: token, operator: operator.toLowerCase(), values };
        }
        throw new Error(`unexpected ${token}`);
    };

    const expression = orExpression();
    if (at !== tokens.length) throw new Error(`unexpected ${tokens[at]} after the condition`);
    return expression;
}

function tokenize(text: string): string[] {
    const tokens: string[] = [];
    const pattern = /\s*(?:('[^']*')|(@\w+\[[^\]]*\])|(&&|\|\||[(){}!,])|([A-Za-z][\w.]*))/y;
    let at = 0;
    while (at < text.length) {
        if (/^\s*$/.test(text.slice(at))) break;
        pattern.lastIndex = at;
        const match = pattern.exec(text);
        if (match === null) throw new Error(`cannot read the condition at "${text.slice(at, at + 20)}"`);
        tokens.push(match[1] ?? match[2] ?? match[3] ?? match[4]);
        at = pattern.lastIndex;
    }
    return tokens;
}

/** Evaluates a parsed condition for one data action on one repository. */
export function evaluateCondition(expression: ConditionExpression, request: ConditionRequest): boolean {
    switch (expression.kind) {
        case "or":
            return expression.operands.some((operand) => evaluateCondition(operand, request));
        case "and":
            return expression.operands.every((operand) => evaluateCondition(operand, request));
        case "not":
            return !evaluateCondition(expression.operand, request);
        case "action":
            return globMatches(expression.pattern, request.action);
        case "compare": {
            if (expression.attribute.toLowerCase() !== REPOSITORY_NAME_ATTRIBUTE) {
                throw new Error(`attribute ${expression.attribute} is not imitated`);
            }
            const ignoreCase = expression.operator.endsWith("ignorecase");
            const fold = (value: string): string => (ignoreCase ? value.toLowerCase() : value);
            const actual = fold(request.repository);
            const base = expression.operator.replace(/ignorecase$/, "").replace(/^stringnot/, "string");
            const negated = expression.operator.startsWith("stringnot");
            const matched = expression.values.some((value) =>
                base === "stringequals" ? actual === fold(value) : actual.startsWith(fold(value)),
            );
            return negated ? !matched : matched;
        }
    }
}

/** `ActionMatches` compares action names case-insensitively, `*` matching any run of characters. */
function globMatches(pattern: string, action: string): boolean {
    const regex = new RegExp(
        `^${pattern
            .split("*")
            .map((part) => part.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&"))
            .join(".*")}$`,
        "i",
    );
    return regex.test(action);
}

/** Refuses a form whose `grant_type` is not `expected`, as ACR does (400 UNSUPPORTED); `where` names the endpoint in the log. */
function requireGrantType(form: URLSearchParams, expected: string, where: string): void {
    const grantType = form.get("grant_type");
    if (grantType !== expected) {
        throw new Refusal(
            400,
            "UNSUPPORTED",
            `grant_type ${grantType ?? "(none)"} is not supported`,
            `${where}: grant_type ${grantType ?? "(none)"}`,
        );
    }
}

/** Parses `scope` parameters (each may hold several, space-separated): `<type>:<name>:<action>[,<action>...]`. */
export function scopesOf(values: readonly string[]): AcrAccess[] {
    const scopes: AcrAccess[] = [];
    for (const scope of values.flatMap((value) => value.split(" ")).filter((value) => value !== "")) {
        const first = scope.indexOf(":");
        const last = scope.lastIndexOf(":");
        if (first < 0 || last === first) continue;
        scopes.push({ type: scope.slice(0, first), name: scope.slice(first + 1, last), actions: scope.slice(last + 1).split(",") });
    }
    return scopes;
}

function checkService(service: string | null, registry: TwinRegistry): void {
    if (service !== null && service.toLowerCase() !== registry.loginServer) {
        throw badRequest(`the service ${service} is not this registry (${registry.loginServer})`);
    }
}

function basicCredentials(request: TwinRequest): { username: string; password: string } | undefined {
    const header = request.headers.authorization;
    const match = /^Basic\s+(\S+)$/i.exec(header ?? "");
    if (match === null) return undefined;
    const text = Buffer.from(match[1], "base64").toString("utf8");
    const colon = text.indexOf(":");
    if (colon < 0) return undefined;
    return { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

function unauthorized(decision: string): Refusal {
    return new Refusal(401, "UNAUTHORIZED", AUTHENTICATION_REQUIRED, decision);
}

function badRequest(decision: string): Refusal {
    return new Refusal(400, "BAD_REQUEST", decision, decision);
}

/** The registry error shape ACR's token service and registry answer with. */
function acrError(status: number, code: string, message: string): TwinResponse {
    return { status, body: { errors: [{ code, message }] } };
}
